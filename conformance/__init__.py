"""Conformance kit for containers behind SageMaker AI's OpenAI-compatible route."""
