"""Reports for people and other tools: the summary (table or JSON) and the exports."""
