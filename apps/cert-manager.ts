import { AcmeClusterIssuer, LETS_ENCRYPT } from '../constructs/certificates/acme-cluster-issuer.js';
import { CertManager } from '../constructs/certificates/cert-manager.js';
import { SopsSecret } from '../constructs/secrets/sops-secret.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';

/** Ingress class the HTTP-01 solver uses. */
const HTTP01_INGRESS_CLASS = 'traefik';

/**
 * cert-manager and the cluster's Let's Encrypt issuers: DNS-01 through Cloudflare
 * (`letsencrypt-prod`, `letsencrypt-staging`) and HTTP-01 through Traefik (`letsencrypt-http01-*`).
 */
export const certManagerApp: AppDefinition<ClusterInventory> = {
  name: 'cert-manager',
  namespace: 'cert-manager',
  build(chart, inventory) {
    const certManager = new CertManager(chart, 'cert-manager');
    const cloudflareToken = new SopsSecret(chart, 'cloudflare-api-token', {
      file: `secrets/${inventory.name}/cert-manager/cloudflare-api-token-secret.sops.yaml`,
      name: 'cloudflare-api-token-secret',
      namespace: certManager.namespace,
    });
    const environments = [
      ['prod', LETS_ENCRYPT.production],
      ['staging', LETS_ENCRYPT.staging],
    ] as const;
    for (const [environment, server] of environments) {
      new AcmeClusterIssuer(chart, `letsencrypt-${environment}`, {
        server,
        email: inventory.acme.email,
        solver: { type: 'dns01-cloudflare', apiToken: cloudflareToken, dnsZones: inventory.acme.dnsZones },
      });
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
    }
  },
};
