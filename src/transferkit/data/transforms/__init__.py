"""Transform presets per kind of target: ``classify`` (images only), ``detection`` (boxes and masks)."""
