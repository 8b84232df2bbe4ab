"""The annotation page: a local web server to listen to samples, confirm and correct their labels.

``penta-dataset --annotate-ui`` starts it; every action becomes an event in the
annotation log that the annotate stage folds into the next version.
"""
