"""The Zalo Official Account platform: webhook signatures and event translation."""
