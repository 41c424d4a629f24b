// Checks RsaSignature2017 documents as Fedify does: jsonld.js canonicalization in safe mode
// (its default for canonize), then the RSA signature over the two hashes.
//
// Usage: node ld_signature_check.mjs < input.json
//   input:  {"contexts": {URL: document, ...},
//            "documents": [{"document": {...}, "publicKeyPem": "..."}, ...]}
//   output: [{"verified": true|false, "error": "why, when it failed"}, ...]
// Contexts come only from the input: any other URL fails, nothing is ever fetched.

import { createHash, verify } from "node:crypto";

import jsonld from "jsonld";

const IDENTITY_V1 = "https://w3id.org/identity/v1";

let contexts = {};

async function documentLoader(url) {
  const document = contexts[url.split("#")[0]];
  if (document === undefined) {
    throw new Error(`context not available offline: ${url}`);
  }
  return { contextUrl: null, documentUrl: url, document: structuredClone(document) };
}

async function hash(document) {
  const canonical = await jsonld.canonize(document, {
    format: "application/n-quads",
    safe: true,
    documentLoader,
  });
  return createHash("sha256").update(canonical).digest("hex");
}

async function check({ document, publicKeyPem }) {
  const { signature, ...unsigned } = document;
  if (signature?.type !== "RsaSignature2017") {
    return { verified: false, error: "no RsaSignature2017 signature" };
  }
  const { type, id, signatureValue, ...options } = signature;
  try {
    const message = (await hash({ ...options, "@context": IDENTITY_V1 })) + (await hash(unsigned));
    const verified = verify(
      "sha256",
      Buffer.from(message),
      publicKeyPem,
      Buffer.from(signatureValue, "base64"),
    );
    return verified ? { verified } : { verified, error: "the signature does not match" };
  } catch (error) {
    // Safe mode says which rule the document broke in the event it attaches.
    const event = error.details?.event;
    const detail = event ? ` ${event.code}: ${JSON.stringify(event.details)}` : "";
    return { verified: false, error: `${error.name}: ${error.message}${detail}` };
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
contexts = input.contexts;
const results = [];
for (const item of input.documents) results.push(await check(item));
process.stdout.write(JSON.stringify(results));
