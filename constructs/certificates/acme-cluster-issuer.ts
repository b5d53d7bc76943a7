import type { IACMEChallengeSolver as AcmeSolver } from '@kubernetes-models/cert-manager/acme.cert-manager.io/v1/ACMEChallengeSolver';
import { ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1/ClusterIssuer';
import type { ApiObject } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';
import { modelObject } from '../core/model-object.js';
import { isReservedAddress } from '../core/reserved-names.js';
import type { SopsSecret } from '../secrets/sops-secret.js';

/** Let's Encrypt's ACME directories. */
export const LETS_ENCRYPT = {
  production: 'https://acme-v02.api.letsencrypt.org/directory',
  staging: 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** DNS-01 through Cloudflare's API with a scoped API token (Zone:DNS:Edit, Zone:Zone:Read). */
export interface CloudflareDns01 {
  readonly type: 'dns01-cloudflare';
  /** The Secret holding the token; it must live in cert-manager's cluster resource namespace. */
  readonly apiToken: SopsSecret;
  /** Key of the token in the Secret. @default 'api-token' */
  readonly key?: string;
  /** Restrict the solver to these DNS zones. @default every zone */
  readonly dnsZones?: readonly string[];
}

/** HTTP-01 through an ingress controller's IngressClass. */
export interface IngressHttp01 {
  readonly type: 'http01-ingress';
  readonly ingressClassName: string;
  /** Annotations on the temporary solver Ingress (e.g. to serve it on the TLS entry point). @default {} */
  readonly annotations?: Readonly<Record<string, string>>;
}

export type AcmeSolverProps = CloudflareDns01 | IngressHttp01;

export interface AcmeClusterIssuerProps {
  /** ACME directory URL, e.g. `LETS_ENCRYPT.production`. */
  readonly server: string;
  /** Account e-mail Let's Encrypt sends expiry notices to. */
  readonly email: string;
  readonly solver: AcmeSolverProps;
  /** Secret cert-manager creates for the ACME account key. @default '<name>-account-key' */
  readonly accountKeySecretName?: string;
}

function solver(props: AcmeSolverProps): AcmeSolver {
  if (props.type === 'dns01-cloudflare') {
    props.apiToken.requireKeys([props.key ?? 'api-token']);
    return {
      dns01: {
        cloudflare: { apiTokenSecretRef: { name: props.apiToken.secretName, key: props.key ?? 'api-token' } },
      },
      ...(props.dnsZones && props.dnsZones.length > 0 ? { selector: { dnsZones: [...props.dnsZones] } } : {}),
    };
  }
  const annotations = props.annotations ?? {};
  return {
    http01: {
      ingress: {
        ingressClassName: props.ingressClassName,
        ...(Object.keys(annotations).length > 0 ? { ingressTemplate: { metadata: { annotations: { ...annotations } } } } : {}),
      },
    },
  };
}

/**
 * A cert-manager ClusterIssuer the project renders, as an Ingress takes it (`issuer`): the
 * object, not its name, so that the issuer exists and its app syncs first.
 */
export interface IClusterIssuer extends IConstruct {
  /** The ClusterIssuer's name, for `cert-manager.io/cluster-issuer`. */
  readonly issuerName: string;
}

/**
 * A cert-manager ClusterIssuer for an ACME CA. The object is named after the construct id; an
 * Ingress selects it with `cert-manager.io/cluster-issuer: <name>`.
 */
export class AcmeClusterIssuer extends Construct implements IClusterIssuer {
  readonly issuerName: string;
  readonly resource: ApiObject;
  private readonly email: string;

  constructor(scope: Construct, id: string, props: AcmeClusterIssuerProps) {
    super(scope, id);
    this.issuerName = id;
    this.email = props.email;
    this.resource = modelObject(
      this,
      'Resource',
      new ClusterIssuer({
        metadata: {
          name: id,
          annotations: {
            // Applied after cert-manager's controller and webhook are healthy (synth marks it to
            // wait for its CRD when the CRD comes in the same sync).
            'argocd.argoproj.io/sync-wave': '1',
          },
        },
        spec: {
          acme: {
            server: props.server,
            email: props.email,
            privateKeySecretRef: { name: props.accountKeySecretName ?? `${id}-account-key` },
            solvers: [solver(props.solver)],
          },
        },
      }),
    );
  }

  /** An account address at a reserved domain is a placeholder: Let's Encrypt refuses it, so no issuer becomes Ready. */
  [KUSTOMIZE_CONTRIBUTION](): KustomizeEntries {
    if (!isReservedAddress(this.email)) return {};
    return {
      examples: [
        {
          field: 'spec.acme.email',
          value: this.email,
          replace: `the ACME account's contact address is at a reserved domain, which Let's Encrypt refuses (ClusterIssuer ${this.issuerName} never becomes Ready): give an address you read`,
        },
      ],
    };
  }
}
