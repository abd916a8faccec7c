// The Node clients of the matrix: openai-node and the Vercel AI SDK's OpenAI-compatible provider.
//
// The kit copies this file next to the node_modules it installed from package-lock.json (the
// cache the kit owns), writes a plan (JSON) to stdin and reads one line per client,
// `@@conformance {json}`, with what each step got: text, tool calls, usage, or the client's own
// error. The kit judges; this script only drives the clients. Each step has its own deadline, so
// a client that waits forever for the server to close is reported as hung and the next one runs.
import OpenAI from "openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, jsonSchema, streamText, tool } from "ai";
import { readFileSync } from "node:fs";

const MARK = "@@conformance ";

function emit(payload) {
  process.stdout.write(MARK + JSON.stringify(payload) + "\n");
}

function blank() {
  return { text: null, tool_calls: [], usage: null, error: null, hung: false };
}

function errorText(err) {
  const name = err && err.constructor ? err.constructor.name : "Error";
  const message = err && err.message ? err.message : String(err);
  const cause = err && err.cause && err.cause.message ? ` (cause: ${err.cause.message})` : "";
  return `${name}: ${message}${cause}`.slice(0, 1000);
}

// Run one step with its own deadline; the abort signal lets the client stop its request.
async function step(timeout, fn) {
  const started = Date.now();
  const controller = new AbortController();
  let timer;
  const hung = new Promise((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ...blank(), hung: true });
    }, timeout * 1000);
  });
  let obs;
  try {
    obs = await Promise.race([fn(controller.signal), hung]);
  } catch (err) {
    obs = { ...blank(), error: errorText(err) };
  } finally {
    clearTimeout(timer);
  }
  obs.seconds = (Date.now() - started) / 1000;
  return obs;
}

// What an assistant turn produced: its text and its tool calls. A turn may answer a tool result
// with another tool call (small models do): both count.
function turnOf(message) {
  const calls = (message.tool_calls || []).map((c) => ({
    id: c.id,
    name: c.function.name,
    arguments: c.function.arguments,
  }));
  return { ...blank(), text: message.content, tool_calls: calls };
}

// The same for one step of the AI SDK's tool loop.
function stepTurn(step) {
  const calls = step.toolCalls.map((c) => ({
    id: c.toolCallId,
    name: c.toolName,
    arguments: JSON.stringify(c.input),
  }));
  return { ...blank(), text: step.text || null, tool_calls: calls };
}

function followupMessages(plan, calls) {
  const toolCalls = calls.map((c, n) => ({
    id: c.id || `call_${n}`,
    type: "function",
    function: { name: c.name, arguments: c.arguments },
  }));
  return [
    { role: "user", content: plan.tool_prompt },
    { role: "assistant", content: null, tool_calls: toolCalls },
    ...toolCalls.map((c) => ({
      role: "tool",
      tool_call_id: c.id,
      content: JSON.stringify(plan.tool_result),
    })),
  ];
}

async function openaiNode(plan) {
  const client = new OpenAI({ baseURL: plan.base_url, apiKey: plan.api_key, timeout: plan.timeout * 1000 });
  const chat = client.chat.completions;
  const user = [{ role: "user", content: plan.prompt }];
  const small = { model: plan.model, temperature: 0, max_completion_tokens: plan.max_tokens };
  const streamed = (includeUsage) => async (signal) => {
    const extra = includeUsage ? { stream_options: { include_usage: true } } : {};
    const stream = await chat.create({ ...small, messages: user, stream: true, ...extra }, { signal });
    let text = "";
    let usage = null;
    for await (const chunk of stream) {
      if (chunk.choices && chunk.choices.length) text += chunk.choices[0].delta?.content || "";
      if (chunk.usage) usage = chunk.usage;
    }
    return { ...blank(), text, usage };
  };
  const steps = {};
  steps.answer = await step(plan.timeout, async (signal) => {
    const r = await chat.create({ ...small, messages: user }, { signal });
    return { ...blank(), text: r.choices[0].message.content, usage: r.usage ?? null };
  });
  steps.stream = await step(plan.timeout, streamed(false));
  steps.tool_call = await step(plan.timeout, async (signal) => {
    // The SDK's stream helper accumulates tool-call fragments, as agent loops do.
    const runner = chat.stream(
      {
        model: plan.model,
        messages: [{ role: "user", content: plan.tool_prompt }],
        tools: [plan.tool],
        tool_choice: "required",
        max_completion_tokens: plan.tool_max_tokens,
        temperature: 0,
      },
      { signal },
    );
    const final = await runner.finalChatCompletion();
    return turnOf(final.choices[0].message);
  });
  const calls = steps.tool_call.tool_calls.length ? steps.tool_call.tool_calls : [plan.fallback_call];
  steps.followup = await step(plan.timeout, async (signal) => {
    const r = await chat.create(
      {
        model: plan.model,
        messages: followupMessages(plan, calls),
        tools: [plan.tool],
        max_completion_tokens: plan.followup_max_tokens,
        temperature: 0,
      },
      { signal },
    );
    return turnOf(r.choices[0].message);
  });
  steps.usage = await step(plan.timeout, streamed(true));
  return steps;
}

async function vercelAi(plan) {
  const provider = createOpenAICompatible({
    name: "sagemaker",
    baseURL: plan.base_url,
    apiKey: plan.api_key,
    includeUsage: true,
  });
  const model = provider(plan.model);
  const fn = plan.tool.function;
  const weather = tool({
    description: fn.description,
    inputSchema: jsonSchema(fn.parameters),
    execute: async () => plan.tool_result,
  });
  const usageOf = (u) =>
    u && (u.inputTokens !== undefined || u.outputTokens !== undefined)
      ? { prompt_tokens: u.inputTokens ?? null, completion_tokens: u.outputTokens ?? null }
      : null;
  const small = { model, temperature: 0, maxOutputTokens: plan.max_tokens, maxRetries: 2 };
  const steps = {};
  steps.answer = await step(plan.timeout, async (abortSignal) => {
    const r = await generateText({ ...small, prompt: plan.prompt, abortSignal });
    return { ...blank(), text: r.text, usage: usageOf(r.usage) };
  });
  steps.stream = await step(plan.timeout, async (abortSignal) => {
    const errors = [];
    const r = streamText({ ...small, prompt: plan.prompt, abortSignal, onError: ({ error }) => errors.push(error) });
    let text = "";
    for await (const part of r.textStream) text += part;
    if (errors.length) throw errors[0];
    return { ...blank(), text };
  });
  let loop = null;
  steps.tool_call = await step(plan.timeout, async (abortSignal) => {
    // The SDK's own tool loop: it calls the tool, sends the result back and answers.
    const errors = [];
    const r = streamText({
      model,
      temperature: 0,
      maxOutputTokens: plan.tool_max_tokens,
      prompt: plan.tool_prompt,
      tools: { [fn.name]: weather },
      toolChoice: "required",
      stopWhen: ({ steps }) => steps.length >= 2,
      prepareStep: ({ stepNumber }) => (stepNumber > 0 ? { toolChoice: "auto" } : {}),
      abortSignal,
      onError: ({ error }) => errors.push(error),
    });
    for await (const part of r.textStream) void part;
    if (errors.length) throw errors[0];
    loop = await r.steps;
    return stepTurn(loop[0]);
  });
  steps.followup = await step(plan.timeout, async () => {
    if (loop === null) throw new Error("the tool loop did not finish (see tool_call)");
    if (loop.length < 2) throw new Error("the tool loop did not answer the tool result (see tool_call)");
    return stepTurn(loop[1]);
  });
  steps.usage = await step(plan.timeout, async (abortSignal) => {
    const errors = [];
    const r = streamText({ ...small, prompt: plan.prompt, abortSignal, onError: ({ error }) => errors.push(error) });
    let text = "";
    for await (const part of r.textStream) text += part;
    if (errors.length) throw errors[0];
    return { ...blank(), text, usage: usageOf(await r.totalUsage) };
  });
  return steps;
}

const CLIENTS = { "openai-node": [openaiNode, "openai"], "vercel-ai": [vercelAi, "ai"] };

function versionOf(name) {
  try {
    const path = new URL(`./node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(path, "utf8")).version;
  } catch {
    return "?";
  }
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const plan = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  for (const client of plan.clients) {
    const [run, pkg] = CLIENTS[client];
    try {
      emit({ client, version: versionOf(pkg), steps: await run(plan) });
    } catch (err) {
      emit({ client, version: versionOf(pkg), error: errorText(err) });
    }
  }
  // A hung client may hold a socket open: leave without waiting for it.
  process.exit(0);
}

main();
