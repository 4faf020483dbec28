import { VaultAnswer } from "./client";

/** A JSON object as an answer holds it, before a reader checks its fields. */
export type Json = Record<string, unknown>;

export const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

/** The answer's JSON object; throws naming the endpoint when there is none. */
export function answerBody(answer: VaultAnswer, endpoint: string): Json {
  if (!isRecord(answer.json)) throw new Error(`${endpoint} answered HTTP ${answer.status} without a JSON object`);
  return answer.json;
}

/** The answer's `data` object; throws naming the endpoint when there is none. */
export function answerData(answer: VaultAnswer, endpoint: string): Json {
  const d = answerBody(answer, endpoint).data;
  if (!isRecord(d)) throw new Error(`${endpoint} answered HTTP ${answer.status} without a data object`);
  return d;
}
