"""Personal data kept to what attribution needs: pure functions, no storage."""
