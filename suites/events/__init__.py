"""EVT-*: events stay in the journal until the receiver acknowledges them."""
