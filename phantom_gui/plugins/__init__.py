"""Qt-free plugin engine: manifests, discovery, dependencies, lifecycle, context, sandbox."""
