"""What this course gives the grading engine besides its notebooks: its sample class."""
