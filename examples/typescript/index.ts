// A program of your own using Registry and RegistryImage from TypeScript, through the component
// provider in ../../provider (docs/use-in-your-program.md).
import * as pulumi from "@pulumi/pulumi";
import * as containerRegistry from "@pulumi/container-registry";

const config = new pulumi.Config();

const registry = new containerRegistry.Registry("team", {
    cloud: "local",
    repositoryName: "api",
    local: { port: config.requireNumber("localPort") },
});
const image = new containerRegistry.RegistryImage("api", {
    context: config.require("context"),
    repositoryUrl: registry.repositoryUrl,
    login: registry.login,
});

export const repositoryUrl = registry.repositoryUrl;
export const repoDigest = image.repoDigest;
