/** Splits schema.sql into statements and runs them; the file holds no `;` inside literals. */
export async function applySchema(db: D1Database, schema: string): Promise<void> {
  const statements = schema
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  await db.batch(statements.map((s) => db.prepare(s)))
}
