// Writes a valid GGUF file of a tiny llama-architecture model: random weights from a fixed seed, a byte-level
// vocabulary and a ChatML chat template, so tests run the real llama.cpp runtime without downloading real weights.
// Also a CLI: `npm run model:tiny -- --out FILE [--embedding 64] [--layers 2] [--feed-forward 128] [--seed 1]`.
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { seededRandom } from "../../bench/lib/transcripts.js";

export interface TinyModelOptions {
  /** Same seed, same bytes: tests are deterministic. */
  seed?: number;
  embedding?: number;
  layers?: number;
  heads?: number;
  feedForward?: number;
  /** The context the model says it was trained on: the ceiling for DEBRIEF_LOCAL_CONTEXT. */
  contextLength?: number;
  name?: string;
}

/** GGUF metadata value types (the spec's gguf_type). */
const GgufType = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;
/** ggml_type of every tensor: plain 32-bit floats, so no quantisation code is needed to write them. */
const GGML_TYPE_F32 = 0;
const ALIGNMENT = 32;

/** llama.cpp's token types (LLAMA_TOKEN_TYPE_*). */
const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const;

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * The special tokens, then one token per byte (`<0x41>`: SentencePiece's byte fallback, so any text tokenizes), then
 * the SentencePiece space `▁`, so a space costs one token like any other byte.
 */
function vocabulary(): { tokens: string[]; types: number[]; imEnd: number } {
  const tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>"];
  const types: number[] = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL, TokenType.CONTROL];
  for (let byte = 0; byte < 256; byte += 1) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.BYTE);
  }
  tokens.push("\u2581");
  types.push(TokenType.NORMAL);
  return { tokens, types, imEnd: 4 };
}

class GgufWriter {
  readonly #parts: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(buffer: Buffer): void {
    this.#parts.push(buffer);
    this.#length += buffer.length;
  }

  u32(value: number): void {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32LE(value);
    this.push(buffer);
  }

  u64(value: number): void {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64LE(BigInt(value));
    this.push(buffer);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, "utf8");
    this.u64(bytes.length);
    this.push(bytes);
  }

  padTo(alignment: number): void {
    const pad = (alignment - (this.#length % alignment)) % alignment;
    if (pad > 0) this.push(Buffer.alloc(pad));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

type MetadataValue =
  | { type: "u32"; value: number }
  | { type: "f32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "strings"; value: string[] }
  | { type: "i32s"; value: number[] }
  | { type: "f32s"; value: number[] };

function writeValue(out: GgufWriter, entry: MetadataValue): void {
  const scalar = (type: number, write: () => void) => {
    out.u32(type);
    write();
  };
  switch (entry.type) {
    case "u32":
      return scalar(GgufType.UINT32, () => out.u32(entry.value));
    case "f32":
      return scalar(GgufType.FLOAT32, () => {
        const buffer = Buffer.alloc(4);
        buffer.writeFloatLE(entry.value);
        out.push(buffer);
      });
    case "bool":
      return scalar(GgufType.BOOL, () => out.push(Buffer.from([entry.value ? 1 : 0])));
    case "string":
      return scalar(GgufType.STRING, () => out.string(entry.value));
    case "strings":
      out.u32(GgufType.ARRAY);
      out.u32(GgufType.STRING);
      out.u64(entry.value.length);
      for (const item of entry.value) out.string(item);
      return;
    case "i32s":
    case "f32s": {
      out.u32(GgufType.ARRAY);
      out.u32(entry.type === "i32s" ? GgufType.INT32 : GgufType.FLOAT32);
      out.u64(entry.value.length);
      const buffer = Buffer.alloc(4 * entry.value.length);
      entry.value.forEach((item, i) => (entry.type === "i32s" ? buffer.writeInt32LE(item, i * 4) : buffer.writeFloatLE(item, i * 4)));
      out.push(buffer);
      return;
    }
  }
}

interface Tensor {
  name: string;
  /** ggml order: the first dimension is the innermost (contiguous) one. */
  dims: number[];
  data: Float32Array;
}

/** The GGUF bytes of a tiny llama model: header, metadata, tensor infos, then the aligned tensor data. */
export function tinyGguf(options: TinyModelOptions = {}): Buffer {
  const { seed = 1, embedding = 64, layers = 2, heads = 4, feedForward = 128, contextLength = 32_768, name = "debrief-tiny" } = options;
  if (embedding % heads !== 0) throw new Error("embedding must be a multiple of heads");
  const vocab = vocabulary();
  // The bench's seeded generator: the weights are the same on every machine.
  const next = seededRandom(seed);
  const weights = (dims: number[]): Float32Array => {
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
    const scale = 1 / Math.sqrt(dims[0]!);
    for (let i = 0; i < data.length; i += 1) data[i] = (next() * 2 - 1) * scale * 4;
    return data;
  };
  const ones = (size: number) => new Float32Array(size).fill(1);

  const nVocab = vocab.tokens.length;
  const tensors: Tensor[] = [
    { name: "token_embd.weight", dims: [embedding, nVocab], data: weights([embedding, nVocab]) },
    { name: "output_norm.weight", dims: [embedding], data: ones(embedding) },
    { name: "output.weight", dims: [embedding, nVocab], data: weights([embedding, nVocab]) },
  ];
  for (let layer = 0; layer < layers; layer += 1) {
    const block = (part: string, dims: number[], data = weights(dims)) => tensors.push({ name: `blk.${layer}.${part}.weight`, dims, data });
    block("attn_norm", [embedding], ones(embedding));
    block("attn_q", [embedding, embedding]);
    block("attn_k", [embedding, embedding]);
    block("attn_v", [embedding, embedding]);
    block("attn_output", [embedding, embedding]);
    block("ffn_norm", [embedding], ones(embedding));
    block("ffn_gate", [embedding, feedForward]);
    block("ffn_down", [feedForward, embedding]);
    block("ffn_up", [embedding, feedForward]);
  }

  const metadata: [string, MetadataValue][] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: name }],
    ["general.license", { type: "string", value: "MIT" }],
    ["general.alignment", { type: "u32", value: ALIGNMENT }],
    ["llama.context_length", { type: "u32", value: contextLength }],
    ["llama.embedding_length", { type: "u32", value: embedding }],
    ["llama.block_count", { type: "u32", value: layers }],
    ["llama.feed_forward_length", { type: "u32", value: feedForward }],
    ["llama.attention.head_count", { type: "u32", value: heads }],
    ["llama.attention.head_count_kv", { type: "u32", value: heads }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
    ["llama.rope.dimension_count", { type: "u32", value: embedding / heads }],
    ["llama.rope.freq_base", { type: "f32", value: 10_000 }],
    ["llama.vocab_size", { type: "u32", value: nVocab }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "strings", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "f32s", value: vocab.tokens.map(() => 0) }],
    ["tokenizer.ggml.token_type", { type: "i32s", value: vocab.types }],
    ["tokenizer.ggml.unknown_token_id", { type: "u32", value: 0 }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: 1 }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: vocab.imEnd }],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: false }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    ["tokenizer.ggml.add_space_prefix", { type: "bool", value: false }],
    ["tokenizer.chat_template", { type: "string", value: CHATML_TEMPLATE }],
  ];

  const out = new GgufWriter();
  out.push(Buffer.from("GGUF", "ascii"));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.string(key);
    writeValue(out, value);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(dim);
    out.u32(GGML_TYPE_F32);
    out.u64(offset);
    offsets.push(offset);
    offset += Math.ceil(tensor.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  out.padTo(ALIGNMENT);
  const dataStart = out.length;
  for (const [index, tensor] of tensors.entries()) {
    const pad = dataStart + offsets[index]! - out.length;
    if (pad > 0) out.push(Buffer.alloc(pad));
    out.push(Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));
  }
  out.padTo(ALIGNMENT);
  return out.toBuffer();
}

export function writeTinyGguf(file: string, options: TinyModelOptions = {}): void {
  writeFileSync(file, tinyGguf(options));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      out: { type: "string" },
      seed: { type: "string" },
      embedding: { type: "string" },
      layers: { type: "string" },
      "feed-forward": { type: "string" },
    },
  });
  if (!values.out) {
    process.stderr.write("Usage: npm run model:tiny -- --out FILE [--seed N] [--embedding N] [--layers N] [--feed-forward N]\n");
    process.exit(2);
  }
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  writeTinyGguf(values.out, {
    seed: number(values.seed),
    embedding: number(values.embedding),
    layers: number(values.layers),
    feedForward: number(values["feed-forward"]),
  });
  process.stdout.write(`wrote ${values.out}\n`);
}
