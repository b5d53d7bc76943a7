/** Identifies a Traefik Middleware custom resource (traefik.io/v1alpha1). */
export interface MiddlewareRef {
  readonly namespace: string;
  readonly name: string;
}

/** The name Traefik's Kubernetes providers use for a CRD middleware: `<namespace>-<name>@kubernetescrd`. */
export function middlewareProviderName(ref: MiddlewareRef): string {
  return `${ref.namespace}-${ref.name}@kubernetescrd`;
}
