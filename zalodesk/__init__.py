"""zalodesk: the back end of a helpdesk's Zalo channel."""
