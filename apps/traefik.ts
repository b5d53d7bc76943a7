import type { ForwardAuthMiddleware } from '../constructs/ingress/forward-auth.js';
import { OAuth2Proxy } from '../constructs/ingress/oauth2-proxy.js';
import { SecureIngress } from '../constructs/ingress/secure-ingress.js';
import { TlsPolicy } from '../constructs/ingress/tls-policy.js';
import { TraefikController } from '../constructs/ingress/traefik.js';
import { SopsSecret } from '../constructs/secrets/sops-secret.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';
import { certManagerApp } from './cert-manager.js';
import { monitoringCrdsApp } from './monitoring-crds.js';

const NAMESPACE = 'traefik';

/** What the traefik app provides to the apps that depend on it. */
export interface TraefikProvides {
  /** The cluster's SSO: oauth2-proxy's forward-auth Middleware, for `auth: { sso }` of an Ingress behind it. */
  readonly sso: ForwardAuthMiddleware;
  /** The controller, for NetworkPolicies that must let its pods reach a backend. */
  readonly controller: TraefikController;
}

/**
 * Traefik v3 (the cluster's ingress controller), its TLS policy, and SSO through oauth2-proxy
 * against the cluster's OIDC provider. The dashboard is behind SSO; oauth2-proxy's own host is
 * public, as it is the sign-in endpoint.
 */
export const traefikApp: AppDefinition<ClusterInventory, TraefikProvides> = {
  name: 'traefik',
  namespace: NAMESPACE,
  // Its Ingresses name cert-manager's ClusterIssuers.
  dependsOn: [monitoringCrdsApp, certManagerApp],
  build(chart, inventory) {
    const { letsEncrypt } = chart.use(certManagerApp);
    const tls = new TlsPolicy(chart, 'tls', { namespace: NAMESPACE });
    const traefik = new TraefikController(chart, 'traefik', {
      namespace: NAMESPACE,
      entryPointMiddlewares: [tls.headersMiddleware],
    });

    const credentials = new SopsSecret(chart, 'oauth2-proxy-credentials', {
      name: 'oauth2-proxy',
      namespace: NAMESPACE,
    });
    const sso = new OAuth2Proxy(chart, 'oauth2-proxy', {
      namespace: NAMESPACE,
      oidcIssuerUrl: inventory.sso.oidcIssuerUrl,
      host: `auth.${inventory.domain.cluster}`,
      cookieDomains: [`.${inventory.domain.base}`],
      allowedEmails: inventory.sso.allowedEmails,
      credentials,
      clusterDomain: inventory.kubernetes.clusterDomain,
      // Traefik's pods forward every request: only their addresses may set X-Forwarded-*.
      trustedProxyCidrs: inventory.kubernetes.podCidrs,
    });

    new SecureIngress(chart, 'oauth2-proxy-ingress', {
      name: 'oauth2-proxy',
      hosts: [sso.host],
      backend: { service: sso.service, port: 'http' },
      issuer: letsEncrypt,
      auth: { public: 'sign-in and callback endpoint of the SSO proxy; forward-auth in front of it would loop' },
    });
    new SecureIngress(chart, 'dashboard-ingress', {
      name: 'traefik-dashboard',
      hosts: [`dashboard.traefik.${inventory.domain.cluster}`],
      backend: { service: traefik.dashboardService, port: 80 },
      issuer: letsEncrypt,
      paths: traefik.dashboardPaths,
      auth: { sso: sso.forwardAuth },
    });
    return { sso: sso.forwardAuth, controller: traefik };
  },
};
