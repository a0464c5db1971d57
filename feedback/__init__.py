"""The voice of users: form, surveys, CSV imports, forums, feeds; cleaning and analysis."""
