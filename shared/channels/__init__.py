"""Sales channels as they send orders: each format's signature check and mapping to our canonical
order (shopify.py, woocommerce.py, amazon.py), against the one contract in intake.py."""
