"""The early-leaving (PMP) risk warehouse of Ogre municipality, in wings (see README, Layout)."""
