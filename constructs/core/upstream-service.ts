/** A port of a Service: its name, if it has one, and its number. */
export interface UpstreamServicePort {
  readonly name?: string;
  readonly port: number;
}

export interface UpstreamServiceProps {
  readonly namespace: string;
  readonly name: string;
  /** The Service's ports, as the upstream resource defines them. */
  readonly ports: readonly UpstreamServicePort[];
  /** The pinned upstream resource (remote manifest URL, Helm chart) that defines the Service. */
  readonly providedBy: string;
}

/**
 * A Service an app does not render but installs from a pinned upstream resource (Argo CD's
 * `argocd-server` from its install manifest). The construct that installs the resource creates
 * it, from what that pinned version defines, so that Ingresses can route to the Service by
 * object and check the port; synth cannot see the Service itself, the deep build does.
 */
export class UpstreamService {
  readonly namespace: string;
  readonly name: string;
  readonly ports: readonly UpstreamServicePort[];
  readonly providedBy: string;

  constructor(props: UpstreamServiceProps) {
    this.namespace = props.namespace;
    this.name = props.name;
    this.ports = props.ports;
    this.providedBy = props.providedBy;
  }
}
