import { isRecord } from '../model.js';

/**
 * Whether a label selector (matchLabels and matchExpressions) selects the labels, as
 * apimachinery's LabelSelectorAsSelector reads it: an empty selector selects everything, an
 * unknown operator nothing.
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, unknown>>): boolean {
  if (!isRecord(selector)) return false;
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isRecord) : [];
  if (!Object.entries(matchLabels).every(([key, value]) => labels[key] === value)) return false;
  return expressions.every((expression) => {
    const key = String(expression.key);
    const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
    const has = key in labels;
    switch (expression.operator) {
      case 'In':
        return has && values.includes(String(labels[key]));
      case 'NotIn':
        return !has || !values.includes(String(labels[key]));
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
}
