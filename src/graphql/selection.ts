// Looking ahead into a field's selection: which arguments a nested field is selected with, so
// that a parent's resolver can read its children's data in its own statement (the customer list
// inlines each row's first history page, schema/customer.ts). Fragments and inline fragments are
// followed, aliases do not matter; directives (@skip/@include) are not evaluated, so a skipped
// selection at worst costs data read for nothing, never a wrong answer: the nested field still
// resolves through its own resolver (and DataLoader), which the parent only primes.
import {
  Kind,
  getArgumentValues,
  isObjectType,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';

/** The field nodes named `name` in a selection set, through fragments. */
function fieldsNamed(set: SelectionSetNode | undefined, name: string, fragments: Record<string, FragmentDefinitionNode>): FieldNode[] {
  if (!set) return [];
  const found: FieldNode[] = [];
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value === name) found.push(sel);
    } else if (sel.kind === Kind.INLINE_FRAGMENT) {
      found.push(...fieldsNamed(sel.selectionSet, name, fragments));
    } else {
      found.push(...fieldsNamed(fragments[sel.name.value]?.selectionSet, name, fragments));
    }
  }
  return found;
}

/**
 * The argument values of each selection of `typeName.fieldName` reached from the resolving field
 * through `path` (field names, e.g. ['edges', 'node']), coerced as the executor will coerce them;
 * a selection whose arguments do not coerce is left out (its own resolution reports that).
 */
export function nestedFieldArgs(
  info: GraphQLResolveInfo,
  path: readonly string[],
  typeName: string,
  fieldName: string,
): Record<string, unknown>[] {
  const type = info.schema.getType(typeName);
  const def = isObjectType(type) ? type.getFields()[fieldName] : undefined;
  if (!def) return [];
  let nodes: readonly FieldNode[] = info.fieldNodes;
  for (const step of [...path, fieldName]) {
    nodes = nodes.flatMap((n) => fieldsNamed(n.selectionSet, step, info.fragments));
  }
  const args: Record<string, unknown>[] = [];
  for (const node of nodes) {
    try {
      args.push(getArgumentValues(def, node, info.variableValues));
    } catch {
      // Not coercible: the field's own resolution fails with the executor's error.
    }
  }
  return args;
}
