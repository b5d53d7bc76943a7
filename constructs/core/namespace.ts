import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { POD_SECURITY_REASON_ANNOTATION, type PodSecurityLevel } from '../../framework/rules/pod-security.js';

export interface PodSecurityNamespaceProps {
  readonly name: string;
  /** Pod Security level enforced, audited and warned about. @default 'restricted' */
  readonly level?: PodSecurityLevel;
  /** Why the namespace needs a level below restricted; required below it (the workloads policy checks). */
  readonly reason?: string;
  /** Further annotations (sync options, say). @default none */
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * A Namespace that enforces, audits and warns at one Pod Security Standards level, restricted
 * unless a recorded reason says why not.
 */
export function podSecurityNamespace(scope: Construct, id: string, props: PodSecurityNamespaceProps): k8s.KubeNamespace {
  const level = props.level ?? 'restricted';
  const annotations = {
    ...(props.reason === undefined ? {} : { [POD_SECURITY_REASON_ANNOTATION]: props.reason }),
    ...props.annotations,
  };
  return new k8s.KubeNamespace(scope, id, {
    metadata: {
      name: props.name,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      labels: {
        'pod-security.kubernetes.io/enforce': level,
        'pod-security.kubernetes.io/audit': level,
        'pod-security.kubernetes.io/warn': level,
      },
    },
  });
}
