// Parses PowerShell sources with the tree-sitter-powershell grammar, for test/scripts/powershell-parser.ts.
// It runs as a child process because the grammar package is ESM with top-level await, which jest's CommonJS module
// runtime cannot import.
// stdin:  JSON [{ "name": string, "text": string }]
// stdout: JSON [{ "name", "hasError", "problems": [{ "kind", "line", "column", "text" }],
//                 "scriptAttributes": [string], "parameters": [{ "name", "attributes": [string] }],
//                 "leadingComments": [string] }]
import { readFileSync } from 'node:fs';
import Parser from 'tree-sitter';
import PowerShell from 'tree-sitter-powershell';

const parser = new Parser();
parser.setLanguage(PowerShell);

/** Every ERROR and MISSING node, outermost first (only subtrees that contain an error are visited). */
function problemsOf(node, found = []) {
  if (node.type === 'ERROR' || node.isMissing) {
    found.push({
      kind: node.isMissing ? `MISSING ${node.type}` : 'ERROR',
      line: node.startPosition.row + 1,
      column: node.startPosition.column + 1,
      text: node.text.slice(0, 80),
    });
  }
  if (node.hasError) {
    for (const child of node.children) problemsOf(child, found);
  }
  return found;
}

const childrenOfType = (node, type) => (node ? node.children.filter((child) => child.type === type) : []);

function describeScript(root) {
  const [paramBlock] = childrenOfType(root, 'param_block');
  const attributesOf = (node) =>
    childrenOfType(childrenOfType(node, 'attribute_list')[0], 'attribute').map((a) => a.text);
  const parameters = childrenOfType(childrenOfType(paramBlock, 'parameter_list')[0], 'script_parameter').map((p) => ({
    name: childrenOfType(p, 'variable')[0]?.text.replace(/^\$/, '') ?? '',
    attributes: attributesOf(p),
  }));
  const leadingComments = [];
  for (const child of root.children) {
    if (child.type !== 'comment') break;
    leadingComments.push(child.text);
  }
  return { scriptAttributes: paramBlock ? attributesOf(paramBlock) : [], parameters, leadingComments };
}

const sources = JSON.parse(readFileSync(0, 'utf8'));
const results = sources.map(({ name, text }) => {
  const root = parser.parse(text).rootNode;
  return { name, hasError: root.hasError, problems: problemsOf(root), ...describeScript(root) };
});
process.stdout.write(JSON.stringify(results));
