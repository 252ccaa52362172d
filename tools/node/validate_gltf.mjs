// Validate glTF/GLB files with the Khronos glTF Validator.
// Usage: node validate_gltf.mjs FILE... ; prints one JSON object {file: summary} on stdout and
// exits 1 when any file has an error (2 on bad usage).
import { readFile } from 'node:fs/promises';
import validator from 'gltf-validator';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate_gltf.mjs FILE.glb...');
  process.exit(2);
}
const results = {};
let failed = false;
for (const file of files) {
  const bytes = new Uint8Array(await readFile(file));
  const report = await validator.validateBytes(bytes, { uri: file, maxIssues: 50 });
  const issues = report.issues;
  results[file] = {
    errors: issues.numErrors,
    warnings: issues.numWarnings,
    messages: issues.messages.filter((m) => m.severity <= 1).map((m) => `${m.code} ${m.pointer ?? ''}: ${m.message}`),
  };
  failed ||= issues.numErrors > 0;
}
console.log(JSON.stringify(results, null, 1));
process.exit(failed ? 1 : 0);
