import { k8s } from 'cdk8s-plus-28';

/** An HTTP GET probe on a named container port, checked every 10 s with a 2 s timeout. */
export function httpProbe(path: string, portName: string, failureThreshold: number): k8s.Probe {
  return {
    httpGet: { path, port: k8s.IntOrString.fromString(portName), scheme: 'HTTP' },
    periodSeconds: 10,
    timeoutSeconds: 2,
    failureThreshold,
  };
}

/** Rolling update that starts a new pod before stopping an old one: capacity never drops. */
export const SURGE_ONE_ROLLOUT: k8s.DeploymentStrategy = {
  type: 'RollingUpdate',
  rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(1), maxUnavailable: k8s.IntOrString.fromNumber(0) },
};

/** Pod security context meeting the `restricted` Pod Security Standard, as a fixed non-root user. */
export const RESTRICTED_POD_SECURITY_CONTEXT: k8s.PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * At most one pod per node more than any other node. A tainted (down or drained) node does not
 * count, so a surge rollout never waits for a pod it cannot place there.
 */
export function spreadAcrossNodes(selector: Record<string, string>): k8s.TopologySpreadConstraint[] {
  return [
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'DoNotSchedule',
      nodeTaintsPolicy: 'Honor',
      labelSelector: { matchLabels: selector },
    },
  ];
}
