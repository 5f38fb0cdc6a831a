"""Posts written by medical authors, and the services that create, change and read them."""
