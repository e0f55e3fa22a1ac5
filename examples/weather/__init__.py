"""A small weather service used to show what aiolint finds."""
