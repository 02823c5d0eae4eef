"""Synthetic, deterministic demo deliveries for Ogre's schools and municipality."""
