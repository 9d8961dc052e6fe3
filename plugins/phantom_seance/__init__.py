"""The séance: live audio driving a 3D shadow realm, with synthesised haunts."""
