import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig';
import type { ApiObject } from 'cdk8s';
import type { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { isRecord } from '../../framework/model.js';
import { modelObject } from '../core/model-object.js';
import type { SopsSecret } from '../secrets/sops-secret.js';
import type { MatchType } from './routing.js';

export type { MatchType };

export interface AlertMatcher {
  readonly name: string;
  readonly value: string;
  /** @default '=' */
  readonly matchType?: MatchType;
}

/** A matcher, e.g. `match('severity', '=~', 'critical|warning')`. */
export function match(name: string, matchType: MatchType, value: string): AlertMatcher {
  return { name, matchType, value };
}

/** An HTTP endpoint of a Service the project renders, which receives Alertmanager's webhook payloads. */
export interface WebhookTarget {
  readonly service: k8s.KubeService;
  /** Name of the Service port. */
  readonly port: string;
  /** @default '/' */
  readonly path?: string;
  /** Basic auth from keys of a SopsSecret in the configuration's namespace. @default none */
  readonly basicAuth?: { readonly secret: SopsSecret; readonly usernameKey: string; readonly passwordKey: string };
  /** Notify when the alert resolves too. @default true */
  readonly sendResolved?: boolean;
  /** The most alerts one notification carries (the rest are counted, not listed). @default all */
  readonly maxAlerts?: number;
}

/**
 * Where notifications go: webhooks, or none at all (a "null" receiver, which drops what it gets,
 * for alerts that exist to be inhibitors or heartbeats).
 */
export class AlertReceiver {
  readonly name: string;
  readonly webhooks: readonly WebhookTarget[];

  constructor(name: string, webhooks: readonly WebhookTarget[] = []) {
    this.name = name;
    this.webhooks = webhooks;
  }
}

/** A node of the routing tree (Alertmanager's `route`). */
export interface AlertRoute {
  /** @default the parent's */
  readonly receiver?: AlertReceiver;
  /** All must match for an alert to enter this route. @default none (every alert) */
  readonly matchers?: readonly AlertMatcher[];
  /** Go on to the next sibling routes after this one matched. @default false */
  readonly continue?: boolean;
  readonly groupBy?: readonly string[];
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly routes?: readonly AlertRoute[];
}

/** Alerts matching `targetMatch` are muted while an alert matching `sourceMatch` fires with the same `equal` labels. */
export interface InhibitRule {
  readonly sourceMatch: readonly AlertMatcher[];
  readonly targetMatch: readonly AlertMatcher[];
  readonly equal?: readonly string[];
}

/**
 * kube-prometheus's inhibition: a critical alert mutes the warning and info alerts of the same
 * name and namespace, a warning mutes info, and InfoInhibitor mutes the info alerts of its
 * namespace (kube-prometheus v0.18.0 `manifests/alertmanager-secret.yaml`).
 */
export const KUBE_PROMETHEUS_INHIBIT_RULES: readonly InhibitRule[] = [
  {
    sourceMatch: [match('severity', '=', 'critical')],
    targetMatch: [match('severity', '=~', 'warning|info')],
    equal: ['namespace', 'alertname'],
  },
  {
    sourceMatch: [match('severity', '=', 'warning')],
    targetMatch: [match('severity', '=', 'info')],
    equal: ['namespace', 'alertname'],
  },
  {
    sourceMatch: [match('alertname', '=', 'InfoInhibitor')],
    targetMatch: [match('severity', '=', 'info')],
    equal: ['namespace'],
  },
];

export interface AlertmanagerConfigurationProps {
  /** Name of the AlertmanagerConfig. */
  readonly name: string;
  readonly namespace: string;
  /** The root of the routing tree: every alert enters it, so it names the default receiver. */
  readonly route: AlertRoute & { readonly receiver: AlertReceiver };
  /** @default KUBE_PROMETHEUS_INHIBIT_RULES */
  readonly inhibitRules?: readonly InhibitRule[];
}

function matchersJson(matchers: readonly AlertMatcher[] | undefined) {
  return (matchers ?? []).map((matcher) => ({ name: matcher.name, value: matcher.value, matchType: matcher.matchType ?? '=' }));
}

/** A named port of a Service object (its number and target port), read when the tree is complete. */
export function namedServicePort(service: k8s.KubeService, port: string): { port: number; targetPort: string | number } | undefined {
  const spec = (service.toJson() as { spec?: unknown }).spec;
  const ports = isRecord(spec) && Array.isArray(spec.ports) ? spec.ports.filter(isRecord) : [];
  const found = ports.find((entry) => entry.name === port);
  if (typeof found?.port !== 'number') return undefined;
  const target = found.targetPort;
  return { port: found.port, targetPort: typeof target === 'string' || typeof target === 'number' ? target : found.port };
}

function servicePort(service: k8s.KubeService, port: string): number | undefined {
  return namedServicePort(service, port)?.port;
}

/**
 * The routing of an Alertmanager as typed data: the route tree, its receivers (taken from the
 * routes, as objects) and the inhibit rules, rendered as a prometheus-operator AlertmanagerConfig
 * that an Alertmanager takes as its global configuration. A webhook names a Service the project
 * renders and one of its ports, so the URL cannot point nowhere; credentials come from SopsSecrets.
 */
export class AlertmanagerConfiguration extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly route: AlertRoute & { readonly receiver: AlertReceiver };
  /** Every receiver the routes name, in the order they first appear. */
  readonly receivers: readonly AlertReceiver[];
  readonly resource: ApiObject;

  /**
   * The name prometheus-operator gives a receiver in the configuration it generates,
   * `<namespace>/<config name>/<receiver>` (the global configuration's too): what the bridges
   * see in the payload's `receiver`.
   */
  generatedReceiverName(receiver: AlertReceiver): string {
    return `${this.namespace}/${this.name}/${receiver.name}`;
  }

  constructor(scope: Construct, id: string, props: AlertmanagerConfigurationProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    this.route = props.route;
    const receivers: AlertReceiver[] = [];
    const clashes: string[] = [];
    const collect = (route: AlertRoute) => {
      const { receiver } = route;
      if (receiver) {
        const same = receivers.find((known) => known.name === receiver.name);
        if (!same) receivers.push(receiver);
        else if (same !== receiver) clashes.push(receiver.name);
      }
      for (const child of route.routes ?? []) collect(child);
    };
    collect(props.route);
    this.receivers = receivers;

    const routeJson = (route: AlertRoute): Record<string, unknown> => ({
      ...(route.receiver ? { receiver: route.receiver.name } : {}),
      ...(route.matchers && route.matchers.length > 0 ? { matchers: matchersJson(route.matchers) } : {}),
      ...(route.continue ? { continue: true } : {}),
      ...(route.groupBy ? { groupBy: [...route.groupBy] } : {}),
      ...(route.groupWait ? { groupWait: route.groupWait } : {}),
      ...(route.groupInterval ? { groupInterval: route.groupInterval } : {}),
      ...(route.repeatInterval ? { repeatInterval: route.repeatInterval } : {}),
      ...(route.routes && route.routes.length > 0 ? { routes: route.routes.map(routeJson) } : {}),
    });
    const webhookJson = (target: WebhookTarget) => {
      const namespace = target.service.metadata.namespace ?? props.namespace;
      const port = servicePort(target.service, target.port);
      return {
        url: `http://${target.service.name}.${namespace}.svc:${port ?? target.port}${target.path ?? '/'}`,
        sendResolved: target.sendResolved ?? true,
        ...(target.maxAlerts === undefined ? {} : { maxAlerts: target.maxAlerts }),
        ...(target.basicAuth
          ? {
              httpConfig: {
                basicAuth: {
                  username: { name: target.basicAuth.secret.secretName, key: target.basicAuth.usernameKey },
                  password: { name: target.basicAuth.secret.secretName, key: target.basicAuth.passwordKey },
                },
              },
            }
          : {}),
      };
    };
    this.resource = modelObject(
      this,
      'Resource',
      new AlertmanagerConfig({
        metadata: { name: props.name, namespace: props.namespace },
        spec: {
          route: routeJson(props.route),
          receivers: receivers.map((receiver) => ({
            name: receiver.name,
            ...(receiver.webhooks.length > 0 ? { webhookConfigs: receiver.webhooks.map(webhookJson) } : {}),
          })),
          inhibitRules: (props.inhibitRules ?? KUBE_PROMETHEUS_INHIBIT_RULES).map((rule) => ({
            sourceMatch: matchersJson(rule.sourceMatch),
            targetMatch: matchersJson(rule.targetMatch),
            ...(rule.equal ? { equal: [...rule.equal] } : {}),
          })),
        },
      }),
    );

    for (const receiver of receivers) {
      for (const target of receiver.webhooks) {
        if (target.basicAuth) target.basicAuth.secret.requireKeys([target.basicAuth.usernameKey, target.basicAuth.passwordKey]);
      }
    }
    this.node.addValidation({
      validate: () => {
        const errors = [...new Set(clashes)].map(
          (name) => `two different receivers are named "${name}": give each its own name, or pass the same AlertReceiver object`,
        );
        if (!props.route.receiver) errors.push('route.receiver: the root route must name the default receiver');
        // prometheus-operator refuses a global configuration whose root route has these.
        if (props.route.matchers && props.route.matchers.length > 0) {
          errors.push('route.matchers: the root route matches every alert and may have no matchers; put them on a child route');
        }
        if (props.route.continue) errors.push('route.continue: the root route cannot continue; set it on a child route');
        for (const receiver of receivers) {
          receiver.webhooks.forEach((target, index) => {
            const at = `receiver "${receiver.name}" webhook ${index}`;
            const namespace = target.service.metadata.namespace;
            if (servicePort(target.service, target.port) === undefined) {
              errors.push(`${at}: Service ${target.service.name} has no port named "${target.port}"; name one of its ports`);
            }
            if (target.basicAuth && target.basicAuth.secret.namespace !== props.namespace) {
              errors.push(
                `${at}: basic auth Secret ${target.basicAuth.secret.namespace}/${target.basicAuth.secret.secretName} is not in ${props.namespace}; the operator reads it from the AlertmanagerConfig's namespace`,
              );
            }
            if (namespace === undefined)
              errors.push(`${at}: Service ${target.service.name} names no namespace; set its metadata.namespace`);
            if (target.path !== undefined && !target.path.startsWith('/')) errors.push(`${at}: path "${target.path}" must start with "/"`);
          });
        }
        return errors;
      },
    });
  }
}
