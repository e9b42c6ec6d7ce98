"""Text-back: a missed caller gets one text from the number they called."""
