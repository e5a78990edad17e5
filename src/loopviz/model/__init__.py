"""The model: what a trace says, as queries a viewer asks. Pure Python: no asyncio, no Textual."""
