"""A program of your own using the package from Python: a registry on your Docker engine, and an
image built from the repository's app/ and pushed to it (docs/use-in-your-program.md)."""

import pulumi

from container_registry import Cloud, Registry, RegistryImage

config = pulumi.Config()

registry = Registry(
    "team",
    {
        "cloud": Cloud.LOCAL,
        "repository_name": "api",
        "local": {"port": config.require_int("localPort")},
    },
)
image = RegistryImage(
    "api",
    {
        "context": config.require("context"),
        "repository_url": registry.repository_url,
        "login": registry.login,
    },
)

pulumi.export("repositoryUrl", registry.repository_url)
pulumi.export("repoDigest", image.repo_digest)
