"""Alert delivery (issue 14): new papers that match channels' alerts, posted once per channel."""
