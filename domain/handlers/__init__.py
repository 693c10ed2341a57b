"""The Application's command handlers, one module per part of the business."""
