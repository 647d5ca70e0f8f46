"""Two-way Google Calendar sync of activities (K-1). Arrives with its issue;
the package exists so the dependency direction is fixed: sync → services → models."""
