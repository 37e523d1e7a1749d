// Validates Kubernetes objects against the Kubernetes OpenAPI schema, offline: kubernetes-models ships validators
// compiled from it. Types, formats, enums and required fields are checked; unknown fields are left to main.go's
// strict decoding into k8s.io/api. Usage: node schema.mjs objects.json (an array, as main.go -objects writes it).
import { readFileSync } from "node:fs";

const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
if (!Array.isArray(objects) || objects.length === 0) {
  console.error("schema.mjs: no objects to check");
  process.exit(1);
}
let failed = 0;
for (const obj of objects) {
  const name = `${obj.kind} ${JSON.stringify(obj.metadata?.name)}`;
  let Model;
  try {
    const mod = await import(`kubernetes-models/${obj.apiVersion}/${obj.kind}`);
    Model = mod[obj.kind];
  } catch (e) {
    console.log(`FAIL ${name}: no schema for ${obj.apiVersion} ${obj.kind}: ${e.message}`);
    failed++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`ok   ${name} (${obj.apiVersion})`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
