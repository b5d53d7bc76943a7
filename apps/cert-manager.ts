import { AcmeClusterIssuer, LETS_ENCRYPT } from '../constructs/certificates/acme-cluster-issuer.js';
import { CertManager } from '../constructs/certificates/cert-manager.js';
import { SopsSecret } from '../constructs/secrets/sops-secret.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';

/** Ingress class the HTTP-01 solver uses. */
const HTTP01_INGRESS_CLASS = 'traefik';

/** The ClusterIssuers the cert-manager app provides to the apps that depend on it. */
export interface CertManagerIssuers {
  /** Let's Encrypt through DNS-01 (Cloudflare): any host in the inventory's DNS zones, wildcards included. */
  readonly letsEncrypt: AcmeClusterIssuer;
  /** The same against Let's Encrypt's staging CA: untrusted certificates, far higher rate limits, for trying out a host. */
  readonly letsEncryptStaging: AcmeClusterIssuer;
  /** Let's Encrypt through HTTP-01 on Traefik, for hosts outside the DNS zones (no wildcards). */
  readonly letsEncryptHttp01: AcmeClusterIssuer;
  readonly letsEncryptHttp01Staging: AcmeClusterIssuer;
}

/**
 * cert-manager and the cluster's Let's Encrypt issuers: DNS-01 through Cloudflare
 * (`letsencrypt-prod`, `letsencrypt-staging`) and HTTP-01 through Traefik (`letsencrypt-http01-*`).
 */
export const certManagerApp: AppDefinition<ClusterInventory, CertManagerIssuers> = {
  name: 'cert-manager',
  namespace: 'cert-manager',
  build(chart, inventory) {
    const certManager = new CertManager(chart, 'cert-manager');
    const cloudflareToken = new SopsSecret(chart, 'cloudflare-api-token', {
      name: 'cloudflare-api-token-secret',
      namespace: certManager.namespace,
    });
    const dns01 = (environment: string, server: string) =>
      new AcmeClusterIssuer(chart, `letsencrypt-${environment}`, {
        server,
        email: inventory.acme.email,
        solver: { type: 'dns01-cloudflare', apiToken: cloudflareToken, dnsZones: inventory.acme.dnsZones },
      });
    const http01 = (environment: string, server: string) =>
      new AcmeClusterIssuer(chart, `letsencrypt-http01-${environment}`, {
        server,
        email: inventory.acme.email,
        solver: {
          type: 'http01-ingress',
          ingressClassName: HTTP01_INGRESS_CLASS,
          // Served over plain HTTP on the web entry point: the challenge must be answered before any
          // certificate exists, and SNI-strict TLS would refuse the host until then.
          annotations: { 'traefik.ingress.kubernetes.io/router.entrypoints': 'web' },
        },
      });
    return {
      letsEncrypt: dns01('prod', LETS_ENCRYPT.production),
      letsEncryptHttp01: http01('prod', LETS_ENCRYPT.production),
      letsEncryptStaging: dns01('staging', LETS_ENCRYPT.staging),
      letsEncryptHttp01Staging: http01('staging', LETS_ENCRYPT.staging),
    };
  },
};
