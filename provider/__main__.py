"""The component provider Pulumi starts for `pulumi package add`: it hosts `Registry` and
`RegistryImage` as `container-registry:index:Registry` and `container-registry:index:RegistryImage`
(container_registry/provider.py)."""

from container_registry.provider import main

if __name__ == "__main__":
    main()
