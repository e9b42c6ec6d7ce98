"""Call tracking on Chalice, Twilio and DynamoDB."""
