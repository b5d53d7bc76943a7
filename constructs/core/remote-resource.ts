import { Construct } from 'constructs';
import { type CustomResourceKinds, KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';

const FLOATING_REF = /\/(latest|master|main|HEAD|trunk|develop)(\/|$)/;
const VERSION_REF = /\/v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?\//;

export interface RemoteResourceProps {
  /** https URL of an upstream manifest at an exact release tag, e.g. `.../v3.7.9/.../crds.yml`. */
  readonly url: string;
  /**
   * The custom resource kinds whose CRDs the manifest installs, so that synth can order their
   * users after this app (or mark same-app users to wait for them). @default none
   */
  readonly crds?: readonly CustomResourceKinds[];
  /**
   * The namespace the manifest's namespaced objects belong in, when the manifest leaves them
   * without one (like Argo CD's install.yaml). It becomes the app kustomization's `namespace:`,
   * so it applies to the whole app. @default none: objects keep the manifest's namespaces
   */
  readonly namespace?: string;
}

/**
 * An upstream manifest (typically CRDs) pinned at a release tag and fetched by kustomize when
 * ArgoCD builds the app. The URL must name an exact version; branches and `latest` are rejected.
 */
export class RemoteResource extends Construct {
  readonly url: string;
  readonly crds: readonly CustomResourceKinds[];
  readonly namespace?: string;

  constructor(scope: Construct, id: string, props: RemoteResourceProps) {
    super(scope, id);
    this.url = props.url;
    this.crds = props.crds ?? [];
    this.namespace = props.namespace;
    this.node.addValidation({
      validate: () => {
        if (!props.url.startsWith('https://')) return [`remote resource "${props.url}" must be an https:// URL`];
        if (FLOATING_REF.test(props.url) || !VERSION_REF.test(props.url)) {
          return [`remote resource "${props.url}" is not pinned to an exact release (expected a path segment like /v1.2.3/)`];
        }
        return [];
      },
    });
  }

  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    return { resources: [this.url], crds: this.crds, ...(this.namespace === undefined ? {} : { namespace: this.namespace }) };
  }
}
