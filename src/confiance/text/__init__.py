"""Conversation understanding: language, embeddings, topics, trends, sentiment, stance, style."""
