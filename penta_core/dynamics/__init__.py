"""How loudness moves with musical context: note roles, dynamic levels, phrases, expression and articulation."""
