import { Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1/Middleware';
import { TLSOption } from '@kubernetes-models/traefik/traefik.io/v1alpha1/TLSOption';
import type { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { modelObject } from '../core/model-object.js';
import type { MiddlewareRef } from './middleware-ref.js';

/** One year: the shortest HSTS max-age browsers' preload lists and security scanners accept. */
export const MIN_STS_SECONDS = 31_536_000;

/**
 * The TLS 1.2 suites worth offering: ECDHE key exchange with AEAD ciphers only (no CBC, no RSA
 * key exchange), spelled as Traefik names them. TLS 1.3 suites are not configurable.
 */
export const AEAD_CIPHER_SUITES: readonly string[] = [
  'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
  'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
];

export interface TlsPolicyProps {
  /** Namespace of Traefik (the TLSOption and the Middleware live there). @default 'traefik' */
  readonly namespace?: string;
  /** @default 'VersionTLS12' */
  readonly minVersion?: 'VersionTLS12' | 'VersionTLS13';
  /** Refuse handshakes without a matching SNI instead of serving the default certificate. @default true */
  readonly sniStrict?: boolean;
  /** TLS 1.2 cipher suites, by Traefik's names. @default AEAD_CIPHER_SUITES */
  readonly cipherSuites?: readonly string[];
  /** Name of the security-headers Middleware. @default 'security-headers' */
  readonly headersMiddlewareName?: string;
  /** HSTS max-age, at least one year (MIN_STS_SECONDS). @default 63072000 (two years) */
  readonly stsSeconds?: number;
  /** Add `preload` to HSTS; only for domains submitted to the browsers' preload list. @default false */
  readonly stsPreload?: boolean;
  /** Send `X-Frame-Options: DENY`; turn off when an app behind Traefik must be framed. @default true */
  readonly frameDeny?: boolean;
  /** @default 'strict-origin-when-cross-origin' */
  readonly referrerPolicy?: string;
}

/**
 * The cluster's TLS policy for Traefik: the TLSOption named `default`, which Traefik applies to
 * every router that names no other option (Ingress routers included), and a headers Middleware
 * sending HSTS and basic hardening headers. Apply the Middleware everywhere by passing
 * `headersMiddleware` to `TraefikController`'s `entryPointMiddlewares`.
 *
 * Only one TLSOption named `default` may exist in the cluster: Traefik ignores all of them when
 * several namespaces define one.
 */
export class TlsPolicy extends Construct {
  /** Always `default`: the name is what makes Traefik apply it cluster-wide. */
  readonly tlsOptionName = 'default';
  readonly tlsOption: ApiObject;
  readonly headersMiddleware: MiddlewareRef;
  readonly headers: ApiObject;

  constructor(scope: Construct, id: string, props: TlsPolicyProps = {}) {
    super(scope, id);
    const namespace = props.namespace ?? 'traefik';
    const stsSeconds = props.stsSeconds ?? 63_072_000;
    const cipherSuites = props.cipherSuites ?? AEAD_CIPHER_SUITES;
    this.headersMiddleware = { namespace, name: props.headersMiddlewareName ?? 'security-headers' };

    this.tlsOption = modelObject(
      this,
      'TlsOption',
      new TLSOption({
        metadata: { name: this.tlsOptionName, namespace },
        spec: {
          minVersion: props.minVersion ?? 'VersionTLS12',
          maxVersion: 'VersionTLS13',
          sniStrict: props.sniStrict ?? true,
          cipherSuites: [...cipherSuites],
        },
      }),
    );

    this.headers = modelObject(
      this,
      'Headers',
      new Middleware({
        metadata: { name: this.headersMiddleware.name, namespace },
        spec: {
          headers: {
            stsSeconds,
            stsIncludeSubdomains: true,
            stsPreload: props.stsPreload ?? false,
            // Traefik otherwise omits HSTS when it sees a request as plain HTTP (TLS ended by a proxy in front).
            forceSTSHeader: true,
            contentTypeNosniff: true,
            frameDeny: props.frameDeny ?? true,
            referrerPolicy: props.referrerPolicy ?? 'strict-origin-when-cross-origin',
          },
        },
      }),
    );

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (!Number.isInteger(stsSeconds) || stsSeconds < MIN_STS_SECONDS) {
          errors.push(`stsSeconds must be a whole number of at least ${MIN_STS_SECONDS} (one year); got ${stsSeconds}`);
        }
        if (cipherSuites.length === 0) errors.push('cipherSuites must not be empty');
        return errors;
      },
    });
  }
}
