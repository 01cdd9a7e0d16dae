"""Code normalization: disguises that must not matter, information that must survive, robustness.

Each language has a realistic snippet, a disguised copy of it (every local name consistently
renamed, re-indented and re-wrapped, comments reworded, added and removed, string and number
literals changed) and an unrelated snippet. Python is also checked on this interpreter's standard
library with ``corpora.transforms.disguise``.

Known library bugs are kept as ``xfail(strict=True)`` tests (see their reasons); they start to
XPASS, and so fail, when the bug is fixed: then drop the marker.
"""

from __future__ import annotations

import ast
import difflib
import io
import multiprocessing
import random
import re
import textwrap
import tokenize
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import corpora
import dedupfilter
from corpora.transforms import disguise
from dedupfilter.config import ShingleConfig
from dedupfilter.normalize import TokenStream, decode, detect_language
from dedupfilter.normalize.code import ID_HASH, NUM_HASH, STR_HASH
from dedupfilter.normalize.languages import UnknownLanguageError
from dedupfilter.sketch import shingle_hashes

from .conftest import stdlib_doc

normalize = dedupfilter.normalize

LANGS = ["python", "javascript", "typescript", "tsx", "java", "c", "cpp", "go", "rust"]
K = ShingleConfig().k
UNPARAMETERIZED = ShingleConfig(parameterized=False)

# ---------------------------------------------------------------------------------------------
# Snippets. *_ORIG: realistic code; *_COPY: the same code disguised by hand (consistent renaming
# of every locally defined name, other layout and brace placement, comments and literals
# changed); *_OTHER: unrelated code in the same language.
# ---------------------------------------------------------------------------------------------

PY_ORIG = '''\
import collections


class LRUCache:
    """A small least-recently-used cache."""

    def __init__(self, capacity=128):
        # capacity must be positive
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self.entries = collections.OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key, default=None):
        try:
            value = self.entries.pop(key)
        except KeyError:
            self.misses += 1
            return default
        self.entries[key] = value  # most recent last
        self.hits += 1
        return value

    def put(self, key, value):
        if key in self.entries:
            self.entries.pop(key)
        elif len(self.entries) >= self.capacity:
            self.entries.popitem(last=False)
        self.entries[key] = value

    def stats(self):
        total = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses,
                "ratio": self.hits / total if total else 0.0}
'''

PY_COPY = '''\
import collections
# a cache that forgets the oldest entry first
class Mru:
  'Bounded mapping.'
  def __init__(self, size_limit = 64):
    if size_limit <= 1: raise ValueError('need a positive size')
    self.size_limit = size_limit
    self.store = collections.OrderedDict()
    self.found = 10
    self.lost = 20
  def fetch(self, k_, fallback = None):
    try:
      item = self.store.pop(k_)
    except KeyError:
      self.lost += 2   # count the miss
      return fallback
    self.store[k_] = item
    self.found += 3
    return item

  def store_item(self, k_, item):
    if k_ in self.store: self.store.pop(k_)
    elif len(self.store) >= self.size_limit: self.store.popitem(last = False)
    self.store[k_] = item
  def report(self):
    n_all = self.found + self.lost
    return {'found': self.found,
            'lost': self.lost,
            'share': self.found / n_all if n_all else 1.5}
'''

PY_OTHER = '''\
import os
import re

_SECTION = re.compile(r"^\\[(?P<name>[^\\]]+)\\]$")


def read_ini(path, encoding="utf-8"):
    """Parse a minimal INI file into a dict of dicts."""
    sections = {}
    current = None
    if not os.path.exists(path):
        return sections
    with open(path, encoding=encoding) as handle:
        for lineno, raw in enumerate(handle, 1):
            line = raw.strip()
            if not line or line.startswith((";", "#")):
                continue
            match = _SECTION.match(line)
            if match:
                current = sections.setdefault(match.group("name"), {})
            elif "=" in line and current is not None:
                key, _, value = line.partition("=")
                current[key.strip().lower()] = value.strip()
            else:
                raise SyntaxError(f"{path}:{lineno}: cannot parse {line!r}")
    return sections
'''

JS_ORIG = '''\
'use strict';

const DEFAULT_WAIT = 250;

/**
 * Returns a function that delays calls to fn until `wait` ms have passed
 * without another call.
 */
function debounce(fn, wait = DEFAULT_WAIT, options = {}) {
  let timer = null;
  let pendingArgs = null;
  const isLeading = Boolean(options.leading);

  function flush() {
    const args = pendingArgs;
    pendingArgs = null;
    timer = null;
    if (args !== null) {
      fn.apply(this, args);
    }
  }

  return function debounced(...args) {
    const callNow = isLeading && timer === null;
    pendingArgs = callNow ? null : args;
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(flush, wait);
    if (callNow) {
      fn.apply(this, args);
    }
  };
}

module.exports = { debounce, DEFAULT_WAIT };
'''

JS_COPY = '''\
"use strict";
const PAUSE_MS = 1000;   // one second
function quiet(cb, pause = PAUSE_MS, opts = {})
{
    let handle = null; let queued = null;
    const eager = Boolean(opts.leading);
    function release()
    {
        const params = queued;
        queued = null;
        handle = null;
        if (params !== null) { cb.apply(this, params); }
    }
    /* the wrapped function */
    return function wrapped(...params)
    {
        const immediate = eager && handle === null;
        queued = immediate ? null : params;
        if (handle !== null) { clearTimeout(handle); }
        handle = setTimeout(release, pause);
        if (immediate) { cb.apply(this, params); }
    };
}
module.exports = {quiet, PAUSE_MS};
'''

JS_OTHER = '''\
const https = require('https');

async function fetchJson(url, retries = 3) {
  for (let attempt = 1; attempt <= retries; attempt++) {
    try {
      const body = await new Promise((resolve, reject) => {
        https.get(url, (res) => {
          if (res.statusCode >= 400) {
            reject(new Error(`HTTP ${res.statusCode} for ${url}`));
            return;
          }
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => { data += chunk; });
          res.on('end', () => resolve(data));
        }).on('error', reject);
      });
      return JSON.parse(body);
    } catch (err) {
      if (attempt === retries) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}

module.exports = fetchJson;
'''

TS_ORIG = '''\
export interface Task {
  id: number;
  priority: number;
  label: string;
}

export class TaskQueue<T extends Task> {
  private items: T[] = [];
  private readonly limit: number;

  constructor(limit: number = 100) {
    this.limit = limit;
  }

  push(item: T): boolean {
    if (this.items.length >= this.limit) {
      return false;
    }
    let index = this.items.findIndex((other) => other.priority < item.priority);
    if (index < 0) {
      index = this.items.length;
    }
    this.items.splice(index, 0, item);
    return true;
  }

  pop(): T | undefined {
    return this.items.shift();
  }

  byLabel(label: string): T[] {
    return this.items.filter((task) => task.label === label);
  }
}
'''

TS_COPY = '''\
export interface Job { key: number; rank: number; tag: string; }
// bounded queue ordered by rank
export class JobList<U extends Job>
{
    private queue: U[] = [];
    private readonly cap: number;
    constructor(cap: number = 7) { this.cap = cap; }

    add(entry: U): boolean
    {
        if (this.queue.length >= this.cap) { return false; }
        let pos = this.queue.findIndex((o) =>
            o.rank < entry.rank);
        if (pos < 1) { pos = this.queue.length; }
        this.queue.splice(pos, 2, entry);
        return true;
    }
    take(): U | undefined { return this.queue.shift(); }
    /** all jobs with this tag */
    withTag(tag: string): U[]
    {
        return this.queue.filter((j) => j.tag === tag);
    }
}
'''

TS_OTHER = '''\
const UNITS: Array<[string, number]> = [
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
];

export function formatDuration(totalSeconds: number, maxParts = 2): string {
  if (!Number.isFinite(totalSeconds) || totalSeconds < 0) {
    throw new RangeError(`invalid duration: ${totalSeconds}`);
  }
  const parts: string[] = [];
  let rest = Math.floor(totalSeconds);
  for (const [suffix, size] of UNITS) {
    if (parts.length === maxParts) break;
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0 || (suffix === "s" && parts.length === 0)) {
      parts.push(`${amount}${suffix}`);
    }
  }
  return parts.join(" ");
}
'''

TSX_ORIG = '''\
import React, { useState } from "react";

type CounterProps = {
  initial: number;
  step?: number;
  onChange?: (value: number) => void;
};

export function Counter(props: CounterProps) {
  const [count, setCount] = useState(props.initial);
  const step = props.step ?? 1;

  function update(delta: number) {
    const next = count + delta;
    setCount(next);
    if (props.onChange) {
      props.onChange(next);
    }
  }

  return (
    <div className="counter">
      <button onClick={() => update(-step)}>-</button>
      <span>{count}</span>
      <button onClick={() => update(step)}>+</button>
    </div>
  );
}
'''

TSX_COPY = '''\
import React, {useState} from 'react';
type TallyProps = { start: number; inc?: number; notify?: (v: number) => void; };
// a clickable tally
export function Tally(p: TallyProps)
{
    const [total, setTotal] = useState(p.start);
    const inc = p.inc ?? 5;
    function bump(by: number)
    {
        const after = total + by;
        setTotal(after);
        if (p.notify) { p.notify(after); }
    }
    return (
        <div className='tally'>
            <button onClick={() => bump(-inc)}>-</button>
            <span>{total}</span>
            <button onClick={() => bump(inc)}>+</button>
        </div>
    );
}
'''

TSX_OTHER = '''\
import React, { useEffect, useState } from "react";

interface User {
  id: string;
  name: string;
}

export default function UserList({ endpoint }: { endpoint: string }) {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    fetch(endpoint)
      .then((res) => res.json())
      .then((data: User[]) => !cancelled && setUsers(data))
      .catch((e) => setError(String(e)));
    return () => {
      cancelled = true;
    };
  }, [endpoint]);

  if (error) return <p className="error">{error}</p>;
  return (
    <ul>
      {users.map((u) => (
        <li key={u.id}>{u.name}</li>
      ))}
    </ul>
  );
}
'''

JAVA_ORIG = '''\
package com.example.limits;

import java.util.ArrayDeque;
import java.util.Deque;

public final class RateLimiter {
    private final int maxEvents;
    private final long windowMillis;
    private final Deque<Long> timestamps = new ArrayDeque<>();

    public RateLimiter(int maxEvents, long windowMillis) {
        if (maxEvents <= 0) {
            throw new IllegalArgumentException("maxEvents must be positive");
        }
        this.maxEvents = maxEvents;
        this.windowMillis = windowMillis;
    }

    /** Records an event at {@code now}; returns false when over the limit. */
    public synchronized boolean tryAcquire(long now) {
        long cutoff = now - windowMillis;
        while (!timestamps.isEmpty() && timestamps.peekFirst() <= cutoff) {
            timestamps.pollFirst();
        }
        if (timestamps.size() >= maxEvents) {
            return false;
        }
        timestamps.addLast(now);
        return true;
    }

    public int pending() {
        return timestamps.size();
    }
}
'''

JAVA_COPY = '''\
package org.sample.throttling;
import java.util.ArrayDeque;
import java.util.Deque;
// sliding-window throttle
public final class Throttle
{
  private final int limit;
  private final long span;
  private final Deque<Long> seen = new ArrayDeque<>();
  public Throttle(int limit, long span)
  {
    if (limit <= 1)
    {
      throw new IllegalArgumentException("limit too small: " );
    }
    this.limit = limit; this.span = span;
  }
  public synchronized boolean admit(long t)
  {
    long oldest = t - span;
    while (!seen.isEmpty()
           && seen.peekFirst() <= oldest)
    {
      seen.pollFirst();
    }
    if (seen.size() >= limit) { return false; }
    seen.addLast(t);
    return true;
  }
  public int count() { return seen.size(); }
}
'''

JAVA_OTHER = '''\
package com.example.tree;

public class BinarySearchTree<K extends Comparable<K>, V> {
    private static final class Node<K, V> {
        final K key;
        V value;
        Node<K, V> left, right;

        Node(K key, V value) {
            this.key = key;
            this.value = value;
        }
    }

    private Node<K, V> root;
    private int size;

    public V get(K key) {
        Node<K, V> node = root;
        while (node != null) {
            int cmp = key.compareTo(node.key);
            if (cmp == 0) return node.value;
            node = cmp < 0 ? node.left : node.right;
        }
        return null;
    }

    public void put(K key, V value) {
        root = insert(root, key, value);
    }

    private Node<K, V> insert(Node<K, V> node, K key, V value) {
        if (node == null) {
            size++;
            return new Node<>(key, value);
        }
        int cmp = key.compareTo(node.key);
        if (cmp < 0) node.left = insert(node.left, key, value);
        else if (cmp > 0) node.right = insert(node.right, key, value);
        else node.value = value;
        return node;
    }
}
'''

C_ORIG = '''\
#include <stdlib.h>
#include <string.h>

struct ring {
    unsigned char *data;
    size_t capacity;
    size_t head;
    size_t count;
};

int ring_init(struct ring *r, size_t capacity)
{
    r->data = malloc(capacity);
    if (r->data == NULL)
        return -1;
    memset(r->data, 0, capacity);
    r->capacity = capacity;
    r->head = 0;
    r->count = 0;
    return 0;
}

/* Copy up to len bytes from src into the ring; returns how many fit. */
size_t ring_write(struct ring *r, const unsigned char *src, size_t len)
{
    size_t written = 0;
    while (written < len && r->count < r->capacity) {
        size_t tail = (r->head + r->count) % r->capacity;
        r->data[tail] = src[written++];
        r->count++;
    }
    return written;
}

size_t ring_read(struct ring *r, unsigned char *dst, size_t len)
{
    size_t n = 0;
    while (n < len && r->count > 0) {
        dst[n++] = r->data[r->head];
        r->head = (r->head + 1) % r->capacity;
        r->count--;
    }
    return n;
}
'''

C_COPY = '''\
#include <stdlib.h>
#include <string.h>

struct buf { unsigned char *bytes_; size_t cap; size_t rd; size_t used; };

int buf_open(struct buf *b, size_t cap) {
  b->bytes_ = malloc(cap);
  if (b->bytes_ == NULL) return -7;
  memset(b->bytes_, 0x00, cap);   // start zeroed
  b->cap = cap; b->rd = 0; b->used = 0;
  return 0;
}

size_t buf_put(struct buf *b, const unsigned char *in, size_t nbytes) {
  size_t done = 0;
  while (done < nbytes
         && b->used < b->cap)
  {
    size_t slot = (b->rd + b->used) % b->cap;
    b->bytes_[slot] = in[done++];
    b->used++;
  }
  return done;
}
/* read side */
size_t buf_get(struct buf *b, unsigned char *out, size_t nbytes) {
  size_t got = 00;
  while (got < nbytes && b->used > 0) {
    out[got++] = b->bytes_[b->rd];
    b->rd = (b->rd + 3) % b->cap;
    b->used--;
  }
  return got;
}
'''

C_OTHER = '''\
#include <ctype.h>
#include <stdio.h>

static int parse_kv(const char *line, char *key, size_t keylen, long *value)
{
    const char *p = line;
    size_t k = 0;
    char *end;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '#' || *p == '\\0')
        return 0;
    while (*p && *p != '=' && !isspace((unsigned char)*p)) {
        if (k + 1 >= keylen)
            return -1;
        key[k++] = *p++;
    }
    key[k] = '\\0';
    while (isspace((unsigned char)*p))
        p++;
    if (*p++ != '=')
        return -1;
    *value = strtol(p, &end, 10);
    if (end == p) {
        fprintf(stderr, "bad value for %s\\n", key);
        return -1;
    }
    return 1;
}
'''

CPP_ORIG = '''\
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace text {

class WordCounter {
public:
    explicit WordCounter(std::size_t minLength = 1) : minLength_(minLength) {}

    void add(const std::string& line) {
        std::string word;
        for (char ch : line) {
            if (std::isalnum(static_cast<unsigned char>(ch))) {
                word.push_back(static_cast<char>(std::tolower(ch)));
            } else {
                flush(word);
            }
        }
        flush(word);
    }

    std::vector<std::pair<std::string, int>> top(std::size_t n) const {
        std::vector<std::pair<std::string, int>> result(counts_.begin(), counts_.end());
        std::sort(result.begin(), result.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        if (result.size() > n) result.resize(n);
        return result;
    }

private:
    void flush(std::string& word) {
        if (word.size() >= minLength_) ++counts_[word];
        word.clear();
    }

    std::size_t minLength_;
    std::map<std::string, int> counts_;
};

}  // namespace text
'''

CPP_COPY = '''\
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>
namespace words
{
class Tally
{
  public:
  explicit Tally(std::size_t shortest = 3)
    : shortest_(shortest)
  {
  }
  // feed one line of input
  void feed(const std::string &row)
  {
    std::string tok;
    for (char c : row)
    {
      if (std::isalnum(static_cast<unsigned char>(c))) { tok.push_back(static_cast<char>(std::tolower(c))); }
      else { emit(tok); }
    }
    emit(tok);
  }
  std::vector<std::pair<std::string, int>> best(std::size_t k) const
  {
    std::vector<std::pair<std::string, int>> out(freq_.begin(), freq_.end());
    std::sort(out.begin(), out.end(),
              [](const auto &x, const auto &y)
              { return x.second != y.second ? x.second > y.second : x.first < y.first; });
    if (out.size() > k) out.resize(k);
    return out;
  }
  private:
  void emit(std::string &tok)
  {
    if (tok.size() >= shortest_) ++freq_[tok];
    tok.clear();
  }
  std::size_t shortest_;
  std::map<std::string, int> freq_;
};
}
'''

CPP_OTHER = '''\
#include <cstddef>
#include <stdexcept>
#include <vector>

template <typename T>
class Matrix {
public:
    Matrix(std::size_t rows, std::size_t cols) : rows_(rows), cols_(cols), data_(rows * cols) {}

    T& operator()(std::size_t r, std::size_t c) { return data_[r * cols_ + c]; }
    const T& operator()(std::size_t r, std::size_t c) const { return data_[r * cols_ + c]; }

    Matrix operator*(const Matrix& other) const {
        if (cols_ != other.rows_) {
            throw std::invalid_argument("shape mismatch");
        }
        Matrix out(rows_, other.cols_);
        for (std::size_t i = 0; i < rows_; ++i)
            for (std::size_t k = 0; k < cols_; ++k) {
                const T lhs = (*this)(i, k);
                for (std::size_t j = 0; j < other.cols_; ++j)
                    out(i, j) += lhs * other(k, j);
            }
        return out;
    }

private:
    std::size_t rows_, cols_;
    std::vector<T> data_;
};
'''

GO_ORIG = '''\
package cache

import (
	"errors"
	"sync"
	"time"
)

// ErrMissing is returned for unknown or expired keys.
var ErrMissing = errors.New("cache: key missing or expired")

type entry struct {
	value   interface{}
	expires time.Time
}

// TTLCache is a map whose entries expire after a fixed time.
type TTLCache struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]entry
}

func NewTTLCache(ttl time.Duration) *TTLCache {
	return &TTLCache{ttl: ttl, entries: make(map[string]entry, 64)}
}

func (c *TTLCache) Set(key string, value interface{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = entry{value: value, expires: time.Now().Add(c.ttl)}
}

func (c *TTLCache) Get(key string) (interface{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || time.Now().After(e.expires) {
		delete(c.entries, key)
		return nil, ErrMissing
	}
	return e.value, nil
}
'''

GO_COPY = '''\
package store
import (
    "errors"
    "sync"
    "time"
)
var ErrGone = errors.New("gone")
type item struct {
    payload interface{}
    deadline time.Time   // when it stops being valid
}
type Expiring struct {
    lock sync.Mutex
    life time.Duration
    items map[string]item
}
func Make(life time.Duration) *Expiring { return &Expiring{life: life, items: make(map[string]item, 1024)} }
/* setters and getters */
func (s *Expiring) Put(name string, payload interface{}) {
    s.lock.Lock()
    defer s.lock.Unlock()
    s.items[name] = item{payload: payload, deadline: time.Now().Add(s.life)}
}
func (s *Expiring) Fetch(name string) (interface{}, error) {
    s.lock.Lock()
    defer s.lock.Unlock()
    it, found := s.items[name]
    if !found || time.Now().After(it.deadline) {
        delete(s.items, name)
        return nil, ErrGone
    }
    return it.payload, nil
}
'''

GO_OTHER = '''\
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"strconv"
)

type response struct {
	Sum   int    `json:"sum"`
	Error string `json:"error,omitempty"`
}

func sumHandler(w http.ResponseWriter, r *http.Request) {
	total := 0
	for _, raw := range r.URL.Query()["n"] {
		n, err := strconv.Atoi(raw)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(response{Error: err.Error()})
			return
		}
		total += n
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(response{Sum: total})
}

func main() {
	http.HandleFunc("/sum", sumHandler)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
'''

RUST_ORIG = '''\
use std::collections::HashMap;

/// Counts how often each word occurs.
pub struct WordFreq {
    counts: HashMap<String, usize>,
    total: usize,
}

impl WordFreq {
    pub fn new() -> Self {
        WordFreq { counts: HashMap::new(), total: 0 }
    }

    pub fn add_text(&mut self, text: &str) {
        for word in text.split_whitespace() {
            let key = word.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
            if key.is_empty() {
                continue;
            }
            *self.counts.entry(key).or_insert(0) += 1;
            self.total += 1;
        }
    }

    pub fn most_common(&self, n: usize) -> Vec<(&str, usize)> {
        let mut pairs: Vec<(&str, usize)> = self.counts.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        pairs.truncate(n);
        pairs
    }

    pub fn share(&self, word: &str) -> f64 {
        match self.counts.get(word) {
            Some(&c) if self.total > 0 => c as f64 / self.total as f64,
            _ => 0.0,
        }
    }
}
'''

RUST_COPY = '''\
use std::collections::HashMap;
// word statistics
pub struct Tally { seen: HashMap<String, usize>, sum: usize, }
impl Tally
{
  pub fn new() -> Self { Tally { seen: HashMap::new(), sum: 10 } }
  pub fn feed(&mut self, input: &str)
  {
    for tok in input.split_whitespace()
    {
      let norm = tok
        .trim_matches(|ch: char| !ch.is_alphanumeric())
        .to_lowercase();
      if norm.is_empty() { continue; }
      *self.seen.entry(norm).or_insert(5) += 2;
      self.sum += 3;
    }
  }
  /* top entries */
  pub fn top(&self, m: usize) -> Vec<(&str, usize)>
  {
    let mut out: Vec<(&str, usize)> =
      self.seen.iter().map(|(x, y)| (x.as_str(), *y)).collect();
    out.sort_by(|p, q| q.1.cmp(&p.1).then(p.0.cmp(q.0)));
    out.truncate(m);
    out
  }
  pub fn frac(&self, tok: &str) -> f64
  {
    match self.seen.get(tok) { Some(&ch) if self.sum > 9 => ch as f64 / self.sum as f64, _ => 1.5, }
  }
}
'''

RUST_OTHER = '''\
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Level::Error),
            "warn" | "warning" => Ok(Level::Warn),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            other => Err(format!("unknown level: {}", other)),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        };
        f.write_str(name)
    }
}
'''


@dataclass(frozen=True)
class Case:
    original: str
    copy: str
    unrelated: str
    merge: tuple[str, str]  # two different local names that occur within one k-gram


CASES = {
    "python": Case(PY_ORIG, PY_COPY, PY_OTHER, ("hits", "misses")),
    "javascript": Case(JS_ORIG, JS_COPY, JS_OTHER, ("timer", "pendingArgs")),
    "typescript": Case(TS_ORIG, TS_COPY, TS_OTHER, ("other", "item")),
    "tsx": Case(TSX_ORIG, TSX_COPY, TSX_OTHER, ("count", "delta")),
    "java": Case(JAVA_ORIG, JAVA_COPY, JAVA_OTHER, ("maxEvents", "windowMillis")),
    "c": Case(C_ORIG, C_COPY, C_OTHER, ("head", "count")),
    "cpp": Case(CPP_ORIG, CPP_COPY, CPP_OTHER, ("minLength_", "counts_")),
    "go": Case(GO_ORIG, GO_COPY, GO_OTHER, ("key", "value")),
    "rust": Case(RUST_ORIG, RUST_COPY, RUST_OTHER, ("k", "v")),
}

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def texts_of(text: str, tokens: TokenStream) -> list[str]:
    return [text[s:e] for s, e in zip(tokens.starts.tolist(), tokens.ends.tolist())]


def names_of(text: str, tokens: TokenStream) -> list[str]:
    """Source text of the identifier tokens."""
    return [text[s:e] for s, e, h in zip(tokens.starts.tolist(), tokens.ends.tolist(), tokens.hashes.tolist())
            if h == ID_HASH]


def literals_of(text: str, tokens: TokenStream) -> list[str]:
    # (a bare word is never a literal: see test_type_keywords_are_not_literals)
    return [text[s:e] for s, e, h in zip(tokens.starts.tolist(), tokens.ends.tolist(), tokens.hashes.tolist())
            if h in (STR_HASH, NUM_HASH) and not text[s:e].isidentifier()]


def kgrams(tokens: TokenStream, config: ShingleConfig | None = None) -> np.ndarray:
    return shingle_hashes(tokens) if config is None else shingle_hashes(tokens, config)


def found_share(part: np.ndarray, whole: np.ndarray) -> float:
    """Share of the k-grams of ``part`` (counted with repetition) that occur in ``whole``."""
    return float(np.isin(part, whole).mean()) if part.size else 0.0


def assert_same_stream(actual: TokenStream, expected: TokenStream) -> None:
    np.testing.assert_array_equal(actual.hashes, expected.hashes)
    np.testing.assert_array_equal(actual.backrefs, expected.backrefs)


def replace_tokens(text: str, tokens: TokenStream, new_text) -> str:
    """Rewrite ``text`` token by token: ``new_text(i, old)`` returns the replacement or None."""
    out, pos = [], 0
    for i, (s, e) in enumerate(zip(tokens.starts.tolist(), tokens.ends.tolist())):
        new = new_text(i, text[s:e])
        if new is not None:
            out += [text[pos:s], new]
            pos = e
    return "".join(out) + text[pos:]


def rename(text: str, lang: str, mapping: dict[str, str]) -> str:
    """Rename identifier tokens (only those: strings and comments are left alone)."""
    tokens = normalize(text, lang)
    return replace_tokens(text, tokens, lambda i, old: mapping.get(old) if tokens.hashes[i] == ID_HASH else None)


_NEXT_DIGIT = str.maketrans("0123456789", "1234561919")  # 7 -> 1 keeps octal literals octal


def _rotate_letter(ch: str) -> str:
    if "a" <= ch <= "z":
        return chr((ord(ch) - 97 + 1) % 26 + 97)
    if "A" <= ch <= "Z":
        return chr((ord(ch) - 65 + 1) % 26 + 65)
    return ch.translate(_NEXT_DIGIT)


def change_literal(old: str, is_number: bool) -> str:
    """Another literal of the same kind.

    Numbers: the digits of the body change, a radix prefix (0x, 0o, 0b, octal 0) and a type
    suffix (u8, f, L) stay. Strings: letters and digits change, while prefixes (f, r, b, u8),
    quotes and escape sequences stay, so the literal remains valid.
    """
    if is_number:
        m = re.fullmatch(r"([-+]?)(0[xXoObB]|0(?=\d))?([\d_.]*)(.*)", old, re.DOTALL)
        return m.group(1) + (m.group(2) or "") + m.group(3).translate(_NEXT_DIGIT) + m.group(4)
    m = re.match(r"[A-Za-z0-9_]*(\"\"\"|'''|[\"'`/])", old)
    chars = list(old)
    i = m.end() if m else 0
    while i < len(chars):
        if chars[i] == "\\":
            i += 2
            continue
        chars[i] = _rotate_letter(chars[i])
        i += 1
    return "".join(chars)


def line_layout(text: str) -> list[tuple[int, int]]:
    """(indentation, length) of each line: what re-indenting and re-wrapping change."""
    return [(len(line) - len(line.lstrip()), len(line)) for line in text.splitlines()]


# Unicode White_Space (str.isspace() also counts the C0 separators \x1c-\x1f, which are not).
WHITE_SPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | frozenset(
    chr(c) for c in range(0x2000, 0x200B))


def assert_offsets_sane(text: str, tokens: TokenStream, *, non_empty: bool = True) -> None:
    starts, ends = tokens.starts, tokens.ends
    assert tokens.hashes.dtype == np.uint64 and starts.dtype == np.int64 and ends.dtype == np.int64
    assert np.all(starts >= 0) and np.all(ends <= len(text))
    assert np.all(starts[1:] >= starts[:-1]), "token starts go backwards"
    assert np.all(starts[1:] >= ends[:-1]), "tokens overlap"
    if non_empty:
        empty = [(int(s), int(e)) for s, e in zip(starts, ends) if s >= e]
        assert not empty, f"empty tokens at {empty[:5]}"
    else:
        assert np.all(starts <= ends)


def assert_no_white_space_tokens(text: str, tokens: TokenStream) -> None:
    blank = [text[s:e] for s, e in zip(tokens.starts.tolist(), tokens.ends.tolist())
             if s < e and set(text[s:e]) <= WHITE_SPACE]
    assert not blank, f"tokens that are only white space: {blank[:5]!r}"


# tree-sitter-typescript's TSX grammar can loop forever (see test_tsx_parser_terminates): TSX is
# normalized in a forked child with a time limit wherever the input is arbitrary, so a hang
# fails one test instead of stopping the run.
_FORK = multiprocessing.get_context("fork")
HANG_LIMIT_SECONDS = 20.0


def _normalize_and_send(conn, text, lang):
    try:
        t = normalize(text, lang)
        conn.send(("ok", t.hashes, t.starts, t.ends, t.backrefs, t.lang))
    except BaseException as exc:  # report everything to the parent
        conn.send(("raised", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def normalize_in_child(text, lang: str, limit: float = HANG_LIMIT_SECONDS) -> TokenStream | None:
    """normalize() in a forked process; None when it has not returned within ``limit`` seconds."""
    receiver, sender = _FORK.Pipe(duplex=False)
    proc = _FORK.Process(target=_normalize_and_send, args=(sender, text, lang), daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(limit):
            return None
        message = receiver.recv()
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receiver.close()
    if message[0] == "raised":
        raise AssertionError(f"normalize({text!r}, {lang!r}) raised {message[1]}")
    return TokenStream(*message[1:])


def normalize_guarded(text, lang: str) -> TokenStream:
    if lang != "tsx":
        return normalize(text, lang)
    tokens = normalize_in_child(text, lang)
    if tokens is None:
        pytest.fail(f"normalize({text!r}, 'tsx') did not return within {HANG_LIMIT_SECONDS} s")
    return tokens


# ---------------------------------------------------------------------------------------------
# Disguises that must not matter
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_consistent_renaming_reformatting_and_rewording_change_nothing(lang):
    case = CASES[lang]
    a, b = normalize(case.original, lang), normalize(case.copy, lang)
    # The copy is a real disguise: most local names, the layout, comments and literals differ.
    renamed = set(names_of(case.original, a)) - set(names_of(case.copy, b))
    assert len(renamed) >= 6, renamed
    assert line_layout(case.copy) != line_layout(case.original)
    kinds = [h for h, t in zip(a.hashes.tolist(), texts_of(case.original, a))
             if h in (STR_HASH, NUM_HASH) and not t.isidentifier()]
    changed = {h for h, x, y in zip(kinds, literals_of(case.original, a), literals_of(case.copy, b)) if x != y}
    assert changed == set(kinds)  # strings and numbers (whichever the snippet has) were changed
    assert len(a) > 120
    assert_same_stream(b, a)
    np.testing.assert_array_equal(kgrams(b), kgrams(a))


@pytest.mark.parametrize("lang", LANGS)
def test_unrelated_snippets_share_almost_nothing(lang):
    case = CASES[lang]
    a, c = normalize(case.original, lang), normalize(case.unrelated, lang)
    assert len(c) > 120
    ka, kc = np.unique(kgrams(a)), np.unique(kgrams(c))
    shared = np.intersect1d(ka, kc).size / min(ka.size, kc.size)
    assert shared < 0.1, shared
    similarity = difflib.SequenceMatcher(None, a.hashes.tolist(), c.hashes.tolist(), autojunk=False).ratio()
    assert similarity < 0.6, similarity


def add_comments(text: str, lang: str) -> str:
    """Comments everywhere a programmer could put one: whole lines between statements, at the end
    of lines, and (except in Python) block comments after semicolons."""
    tokens = normalize(text, lang)
    texts = texts_of(text, tokens)
    starts, ends = tokens.starts.tolist(), tokens.ends.tolist()
    line_comment = "#" if lang == "python" else "//"
    inserts: dict[int, str] = {}
    for i in range(len(texts)):
        line_start = text.rfind("\n", 0, starts[i]) + 1
        begins_line = text[line_start:starts[i]].strip() == ""
        after_statement = lang == "python" or (i > 0 and texts[i - 1] in (";", "{", "}"))
        if begins_line and after_statement and i % 2 == 0:
            indent = text[line_start:starts[i]]
            inserts[line_start] = f"{indent}{line_comment} note {i}: é 🎉 {{ ( ; }} TODO(x)\n"
        ends_statement = lang != "tsx" or texts[i] in (";", "{", ",")  # (not inside JSX text)
        if text[ends[i]:ends[i] + 1] == "\n" and ends_statement and i % 2 == 0:
            inserts[ends[i]] = inserts.get(ends[i], "") + f"  {line_comment} trailing remark {i}"
        if lang != "python" and texts[i] == ";":
            inserts[ends[i]] = f" /* block\n   comment {i} */" + inserts.get(ends[i], "")
    out, pos = [], 0
    for offset in sorted(inserts):
        out += [text[pos:offset], inserts[offset]]
        pos = offset
    return "".join(out) + text[pos:]


@pytest.mark.parametrize("lang", LANGS)
def test_adding_comments_changes_nothing(lang):
    original = CASES[lang].original
    commented = add_comments(original, lang)
    assert commented.count("note") >= 5 and commented.count("trailing remark") >= 5
    after = normalize(commented, lang)
    assert_same_stream(after, normalize(original, lang))
    assert texts_of(commented, after) == texts_of(original, normalize(original, lang))


@pytest.mark.parametrize("lang", LANGS)
def test_changing_every_string_and_number_literal_changes_nothing(lang):
    original = CASES[lang].original
    tokens = normalize(original, lang)
    # (bare words are left alone: see test_type_keywords_are_not_literals)
    changed = replace_tokens(original, tokens, lambda i, old: change_literal(old, tokens.hashes[i] == NUM_HASH)
                             if tokens.hashes[i] in (STR_HASH, NUM_HASH) and not old.isidentifier() else None)
    after = normalize(changed, lang)
    pairs = list(zip(literals_of(original, tokens), literals_of(changed, after)))
    assert sum(x != y for x, y in pairs) >= max(1, len(pairs) // 2), pairs
    assert_same_stream(after, tokens)


@pytest.mark.parametrize("lang", LANGS)
def test_literal_kinds_are_kept_apart(lang):
    # A string where a number was (or the reverse) is a different program.
    original = CASES[lang].original
    tokens = normalize(original, lang)
    i = next(i for i, h in enumerate(tokens.hashes.tolist()) if h == NUM_HASH)
    changed = replace_tokens(original, tokens, lambda j, old: '"1"' if j == i else None)
    after = normalize(changed, lang)
    assert len(after) == len(tokens)
    assert np.flatnonzero(after.hashes != tokens.hashes).tolist() == [i]


OPERATOR_SWAPS = {"+": "-", "-": "+", "&&": "||", "||": "&&", "==": "!=", "!=": "==", "<=": ">=", ">=": "<=",
                  "===": "!==", "!==": "===", "+=": "-=", "-=": "+="}
# (keyword, which occurrence, replacement): a swap that keeps the program well formed
KEYWORD_SWAPS = {"java": ("while", 0, "if"), "c": ("while", 0, "if"), "cpp": ("if", 1, "while"),
                 "go": ("if", 0, "for")}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("what", ["operator", "keyword"])
def test_operators_and_keywords_are_kept(lang, what):
    original = CASES[lang].original
    tokens = normalize(original, lang)
    texts = texts_of(original, tokens)
    if what == "operator":
        i = next(i for i, t in enumerate(texts) if t in OPERATOR_SWAPS)
        new = OPERATOR_SWAPS[texts[i]]
    else:
        keyword, occurrence, new = KEYWORD_SWAPS.get(lang, ("if", 0, "while"))
        i = [n for n, t in enumerate(texts) if t == keyword][occurrence]
    changed = replace_tokens(original, tokens, lambda j, old: new if j == i else None)
    after = normalize(changed, lang)
    assert len(after) == len(tokens)
    assert np.flatnonzero(after.hashes != tokens.hashes).tolist() == [i]
    assert np.setdiff1d(kgrams(after), kgrams(tokens)).size > 0


# ---------------------------------------------------------------------------------------------
# Information that must survive: inconsistent renaming is not a disguise
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_merging_two_names_into_one_changes_the_kgrams(lang):
    case = CASES[lang]
    first, second = case.merge
    merged = rename(case.original, lang, {second: first})
    a, m = normalize(case.original, lang), normalize(merged, lang)
    assert second not in names_of(merged, m) and second in names_of(case.original, a)
    np.testing.assert_array_equal(m.hashes, a.hashes)  # identifiers are abstracted alike...
    assert not np.array_equal(m.backrefs, a.backrefs)  # ...but the pattern of names is kept
    assert np.setdiff1d(kgrams(m), kgrams(a)).size > 0
    # the difference lives in the back-references: without them the k-grams agree
    np.testing.assert_array_equal(kgrams(m, UNPARAMETERIZED), kgrams(a, UNPARAMETERIZED))


@pytest.mark.parametrize("lang", LANGS)
def test_renaming_one_occurrence_only_changes_the_kgrams(lang):
    original = CASES[lang].original
    a = normalize(original, lang)
    # the last identifier whose previous occurrence lies inside the same k-gram
    i = max(i for i, b in enumerate(a.backrefs.tolist()) if 0 < b < K)
    split = replace_tokens(original, a, lambda j, old: "fresh_name_nowhere_else" if j == i else None)
    s = normalize(split, lang)
    np.testing.assert_array_equal(s.hashes, a.hashes)
    assert np.setdiff1d(kgrams(s), kgrams(a)).size > 0


# ---------------------------------------------------------------------------------------------
# Python on real data: this interpreter's standard library
# ---------------------------------------------------------------------------------------------

STDLIB_MODULES = ["textwrap.py", "shlex.py", "fnmatch.py", "posixpath.py", "csv.py", "heapq.py",
                  "colorsys.py", "json/decoder.py"]


@pytest.mark.parametrize("name", STDLIB_MODULES)
def test_disguised_stdlib_module_gives_identical_stream(name):
    doc = stdlib_doc(name)
    disguised = disguise(doc.text)
    a, b = normalize(doc.text, "python"), normalize(disguised, "python")
    assert len(a) > 500
    assert len(set(names_of(doc.text, a)) - set(names_of(disguised, b))) >= 10
    assert line_layout(disguised) != line_layout(doc.text)
    assert_same_stream(b, a)


def test_disguised_stdlib_module_with_two_names_merged_differs():
    doc = stdlib_doc("textwrap.py")
    disguised = disguise(doc.text)
    b = normalize(disguised, "python")
    texts = texts_of(disguised, b)
    ids = [i for i in range(len(b)) if b.hashes[i] == ID_HASH and texts[i].startswith("renamed_")]
    # two different renamed names that meet inside one k-gram, past the middle of the module
    p, q = next((p, q) for p, q in zip(ids, ids[1:]) if p > len(b) // 2 and q - p < K and texts[p] != texts[q])
    merged = rename(disguised, "python", {texts[q]: texts[p]})
    m, a = normalize(merged, "python"), normalize(doc.text, "python")
    np.testing.assert_array_equal(m.hashes, a.hashes)
    assert_same_stream(b, a)
    assert np.setdiff1d(kgrams(m), kgrams(a)).size > 0


# ---------------------------------------------------------------------------------------------
# Fragments: a window cut from the middle of a file keeps its k-grams
# ---------------------------------------------------------------------------------------------


def _lines_inside_strings(source: str) -> set[int]:
    """1-based numbers of the lines that begin inside a multi-line string literal."""
    inside: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
            inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    return inside


def mid_block_window(source: str, start_at: int, n_lines: int) -> tuple[int, int]:
    """(first, last), 1-based inclusive: about ``n_lines`` lines that start and end on indented
    code lines (so they cut through blocks) and do not begin or end inside a string literal."""
    lines = source.splitlines()
    inside = _lines_inside_strings(source)

    def cuts_a_block(n: int) -> bool:
        line = lines[n - 1]
        return (n not in inside and n + 1 not in inside and line.strip() != ""
                and not line.lstrip().startswith("#") and line[0] in " \t")

    first = next(n for n in range(start_at, len(lines)) if cuts_a_block(n))
    last = next(n for n in range(first + n_lines, len(lines)) if cuts_a_block(n))
    return first, last


def window(source: str, first: int, last: int) -> str:
    return "".join(source.splitlines(keepends=True)[first - 1:last])


STDLIB_WINDOWS = [("posixpath.py", 40), ("shlex.py", 100), ("csv.py", 100), ("fnmatch.py", 40),
                  ("genericpath.py", 77), ("heapq.py", 300), ("json/encoder.py", 220), ("socketserver.py", 320),
                  ("textwrap.py", 240), ("colorsys.py", 40)]


def test_window_from_the_middle_of_stdlib_modules_keeps_its_kgrams():
    shares = {}
    for name, start_at in STDLIB_WINDOWS:
        source = stdlib_doc(name).text
        first, last = mid_block_window(source, start_at, 50)
        fragment = window(source, first, last)
        part = kgrams(normalize(fragment, "python"))
        assert part.size >= 80, (name, first, last)
        shares[name, first, last] = found_share(part, kgrams(normalize(source, "python")))
    # Measured: 1.0 for every window. Were back-references that point out of a k-gram kept (the
    # shingle kernel's "b > j -> 0" rule), such windows lose 10-45% of their k-grams.
    assert min(shares.values()) >= 0.9, shares
    assert np.mean(list(shares.values())) >= 0.97, shares


OTHER_WINDOWS = {"c": (14, 38), "java": (13, 30), "go": (25, 40), "rust": (12, 32), "cpp": (14, 36),
                 "javascript": (12, 30)}


@pytest.mark.parametrize("lang", sorted(OTHER_WINDOWS))
def test_window_from_the_middle_of_a_snippet_keeps_its_kgrams(lang):
    source = CASES[lang].original
    first, last = OTHER_WINDOWS[lang]
    lines = source.splitlines()
    assert lines[first - 1][0].isspace() and lines[last - 1][0].isspace()  # cuts through blocks
    part = kgrams(normalize(window(source, first, last), lang))
    assert part.size >= 60
    assert found_share(part, kgrams(normalize(source, lang))) >= 0.9


def test_truncated_files_keep_the_tokens_before_the_cut():
    for lang in LANGS:
        source = CASES[lang].original
        full = normalize(source, lang)
        for fraction in (0.3, 0.5, 0.7, 0.9):
            cut = int(len(source) * fraction)
            part = normalize(source[:cut], lang)
            n = int((full.ends <= cut).sum()) - 1  # the last whole token may change kind at the cut
            assert len(part) >= n
            np.testing.assert_array_equal(part.hashes[:n], full.hashes[:n], err_msg=f"{lang} {fraction}")
            np.testing.assert_array_equal(part.starts[:n], full.starts[:n])
            np.testing.assert_array_equal(part.backrefs[:n], full.backrefs[:n])
            assert found_share(kgrams(part), kgrams(full)) >= 0.95, (lang, fraction)


# ---------------------------------------------------------------------------------------------
# Robustness: code that does not parse
# ---------------------------------------------------------------------------------------------

ONLY_COMMENTS = {lang: "// first\n/* second\n   third */\n// fourth\n" for lang in LANGS}
ONLY_COMMENTS["python"] = "#!/usr/bin/env python3\n# -*- coding: utf-8 -*-\n# nothing else\n"


@pytest.mark.parametrize("lang", LANGS)
def test_empty_blank_and_comment_only_input_gives_no_tokens(lang):
    for text in ("", " \n\t\r\n  ", ONLY_COMMENTS[lang]):
        tokens = normalize(text, lang)
        assert len(tokens) == 0, (text, texts_of(text, tokens))
        assert tokens.lang == lang


GARBAGE_PIECES = ["foo", "bar_baz", "Qux", "x1", "42", "7", "{", "}", "(", ")", "[", "]", ";", ",", ".", ":", "=",
                  "+", "*", "&", "|", "!", "?", "%", "^", "@", "if", "else", "return", "for", "class", "fn", " ",
                  " ", "\n", "\t", "    "]


def garbage(seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(GARBAGE_PIECES) for _ in range(n))


def unbalanced(source: str, lang: str) -> str:
    """Brackets dropped and added: a copy pasted badly."""
    opener, closer = ("(", ")") if lang == "python" else ("{", "}")
    lines = source.splitlines(keepends=True)
    mid = len(lines) // 2
    lines[mid] = lines[mid].replace(closer, "", 1) + f"{opener}{opener}[[\n"
    lines[mid // 2] = closer * 3 + lines[mid // 2]
    return "".join(lines)


def binaryish(source: str) -> str:
    junk = ["\x00", "\x07\x08", "\x1b[0m", "\ufffd\ufffd", "\ufeff", "\x7f", "\U0010ffff"]
    lines = source.splitlines(keepends=True)
    return "".join(junk[n % len(junk)] + line if n % 4 == 0 else line for n, line in enumerate(lines))


@pytest.mark.parametrize("lang", LANGS)
def test_code_that_does_not_parse_still_yields_its_tokens(lang):
    source = CASES[lang].original
    full = kgrams(normalize(source, lang))
    # Random garbage: every character that is not white space lands in a token.
    for seed in range(3):
        text = garbage(seed * 10 + LANGS.index(lang))
        tokens = normalize_guarded(text, lang)
        assert_offsets_sane(text, tokens)
        covered = np.zeros(len(text), bool)
        for s, e in zip(tokens.starts.tolist(), tokens.ends.tolist()):
            covered[s:e] = True
        missed = [text[n] for n in np.flatnonzero(~covered) if not text[n].isspace()]
        assert not missed, missed
    # Unbalanced brackets and binary junk: most of the program is still found.
    for text in (unbalanced(source, lang), binaryish(source)):
        tokens = normalize_guarded(text, lang)
        assert_offsets_sane(text, tokens)
        assert found_share(full, kgrams(tokens)) >= 0.6, found_share(full, kgrams(tokens))


CODE_PIECES = ["def ", "class ", "fn ", "func ", "function ", "let ", "int ", "return ", "if ", "else", "while",
               "{", "}", "(", ")", "[", "]", "<", ">", ";", ":", "::", "=>", "->", ",", ".", "=", "+", "-", "*",
               "&", "|", "!", "?", "@", "$", "%", "x", "foo_bar", "0x1F", "3.14", "42", "é", "🎉", "\n", "    ",
               "\t", "\r\n", "\\", "\x00", "\x1c", "#include <", "#define X ", "#", "/", "/*", "*/", "//", '"',
               "'", "`", '"""', "r#\"", "${", "</", "/>", "```"]
QUOTES = {'"', "'", "`", '"""', "r#\"", "${"}


def code_soup(pieces) -> st.SearchStrategy[str]:
    return st.lists(st.sampled_from(pieces) | st.text(max_size=3), max_size=50).map("".join)


ARBITRARY_TEXT = st.text(max_size=300) | code_soup(CODE_PIECES)


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(text=ARBITRARY_TEXT)
def test_arbitrary_text_never_raises_and_offsets_are_sane(lang, text):
    tokens = normalize_guarded(text, lang)
    assert tokens.lang == lang
    assert_offsets_sane(text, tokens)


NO_QUOTES_NO_UNICODE_BLANKS = code_soup([p for p in CODE_PIECES if p not in QUOTES]).filter(
    lambda t: not any(c in WHITE_SPACE and not c.isascii() for c in t) and not any(q in t for q in "'\"`"))


@pytest.mark.parametrize("lang", LANGS)
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(text=NO_QUOTES_NO_UNICODE_BLANKS)
def test_tokens_are_never_white_space(lang, text):
    # Literals cut open and non-ASCII white space have their own tests below.
    tokens = normalize_guarded(text, lang)
    assert_no_white_space_tokens(text, tokens)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(lang=st.sampled_from(LANGS),
       data=st.binary(max_size=200) | code_soup(CODE_PIECES).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_never_raise(lang, data):
    tokens = normalize_guarded(data, lang)
    assert_offsets_sane(decode(data), tokens, non_empty=False)


# ---------------------------------------------------------------------------------------------
# Offsets are character offsets into the str
# ---------------------------------------------------------------------------------------------

NON_ASCII = {
    "python": ('café = "crème 🎉"\nnaïve = café + 1\n',
               ["café", "=", '"crème 🎉"', "naïve", "=", "café", "+", "1"]),
    "javascript": ('const s = "héllo 🎉"; let ñ = s.length + 1;',
                   ["const", "s", "=", '"héllo 🎉"', ";", "let", "ñ", "=", "s", ".", "length", "+", "1", ";"]),
    "typescript": ("const s: string = '🎉é'; const n: number = s.length;",
                   ["const", "s", ":", "string", "=", "'🎉é'", ";", "const", "n", ":", "number", "=", "s", ".",
                    "length", ";"]),
    "tsx": ('const el = <b title="é🎉">{naïve}</b>;',
            ["const", "el", "=", "<", "b", "title", "=", '"é🎉"', ">", "{", "naïve", "}", "</", "b", ">", ";"]),
    "java": ('class Ü { String s = "é🎉"; int straße = s.length(); }',
             ["class", "Ü", "{", "String", "s", "=", '"é🎉"', ";", "int", "straße", "=", "s", ".", "length", "(",
              ")", ";", "}"]),
    "c": ('const char *s = "é🎉"; /* ünïcode */ int n = 1;',
          ["const", "char", "*", "s", "=", '"é🎉"', ";", "int", "n", "=", "1", ";"]),
    "cpp": ('auto s = u8"é🎉"; int n = s.size();',
            ["auto", "s", "=", 'u8"é🎉"', ";", "int", "n", "=", "s", ".", "size", "(", ")", ";"]),
    "go": ('package p\n\nvar s = "é🎉" // ç\nvar café = len(s) + 1\n',
           ["package", "p", "var", "s", "=", '"é🎉"', "var", "café", "=", "len", "(", "s", ")", "+", "1"]),
    "rust": ('fn main() { let s = "é🎉"; let naïve = s.len() + 1; }',
             ["fn", "main", "(", ")", "{", "let", "s", "=", '"é🎉"', ";", "let", "naïve", "=", "s", ".", "len",
              "(", ")", "+", "1", ";", "}"]),
}


@pytest.mark.parametrize("lang", LANGS)
def test_offsets_are_character_offsets(lang):
    text, expected = NON_ASCII[lang]
    tokens = normalize(text, lang)
    assert texts_of(text, tokens) == expected
    # the same offsets from bytes (into the decoded text)
    from_bytes = normalize(text.encode("utf-8"), lang)
    np.testing.assert_array_equal(from_bytes.starts, tokens.starts)
    np.testing.assert_array_equal(from_bytes.ends, tokens.ends)
    assert_same_stream(from_bytes, tokens)


def test_non_ascii_names_are_parameterized_like_ascii_ones():
    text, _ = NON_ASCII["python"]
    ascii_text = text.replace("café", "cafe").replace("naïve", "naive").replace("crème 🎉", "creme")
    assert_same_stream(normalize(text, "python"), normalize(ascii_text, "python"))
    assert normalize(text, "python").backrefs.tolist() == [0, 0, 0, 0, 0, 5, 0, 0]


# ---------------------------------------------------------------------------------------------
# Language resolution and detection
# ---------------------------------------------------------------------------------------------

PATHS = {"python": "pkg/mod.py", "javascript": "web/app.mjs", "typescript": "src/x.ts", "tsx": "ui/View.tsx",
         "java": "com/example/Main.java", "c": "lib/ring.c", "cpp": "src/words.CPP", "go": "cache/ttl.go",
         "rust": "x.rs"}


@pytest.mark.parametrize("lang", LANGS)
def test_path_extension_selects_the_grammar(lang):
    source = CASES[lang].original
    by_path = normalize(source, path=PATHS[lang])
    assert by_path.lang == lang
    assert_same_stream(by_path, normalize(source, lang))


def test_explicit_lang_wins_over_the_path_and_unknown_extensions_fall_back_to_the_content():
    assert normalize(PY_ORIG, "python", path="x.rs").lang == "python"
    assert normalize(GO_ORIG, path="notes.unknown").lang == "go"
    assert normalize(C_ORIG, path="ring.h").lang == "c"
    assert normalize(CPP_ORIG, path="words.hpp").lang == "cpp"


@pytest.mark.parametrize("alias, lang", [("py", "python"), ("js", "javascript"), ("ts", "typescript"),
                                         ("c++", "cpp"), ("golang", "go"), ("rs", "rust"), ("Python", "python"),
                                         (" JS ", "javascript"), ("python3", "python"), ("cxx", "cpp")])
def test_language_aliases(alias, lang):
    source = CASES[lang].original
    tokens = normalize(source, alias)
    assert tokens.lang == lang
    assert_same_stream(tokens, normalize(source, lang))


@pytest.mark.parametrize("bad", ["cobol", "pythn", "c#", "objective-c"])
def test_unknown_language_raises(bad):
    with pytest.raises(UnknownLanguageError) as info:
        normalize("x = 1", bad)
    assert isinstance(info.value, ValueError)
    assert bad in str(info.value)
    with pytest.raises(ValueError):
        normalize("x = 1", bad, path="x.py")  # an explicit lang is never second-guessed


@pytest.mark.parametrize("lang", LANGS)
def test_detect_language_recognizes_typical_snippets(lang):
    expected = {"tsx": "typescript"}.get(lang, lang)  # TSX is told from TypeScript only by extension
    for snippet in (CASES[lang].original, CASES[lang].unrelated):
        if lang == "tsx" and snippet is TSX_OTHER:
            continue
        assert detect_language(snippet) == expected
        assert normalize(snippet).lang == expected


def test_cue_gates_are_text_of_every_match(stdlib_docs, pydoc_docs):
    """A cue's pattern is searched only where one of its gates occurs: each gate list
    must hold literal text of every match, or detection would lose the cue."""
    from dedupfilter.normalize.languages import _CUES

    texts = [case.original + "\n" + case.unrelated for case in CASES.values()]
    texts += [d.text[:20000] for d in stdlib_docs[:40]] + [d.text[:20000] for d in pydoc_docs[:40]]
    n_matches = 0
    for cues in _CUES.values():
        for gates, pattern in cues:
            for text in texts:
                for match in pattern.finditer(text):
                    n_matches += 1
                    assert any(gate in match.group(0) for gate in gates), (pattern.pattern, match.group(0))
    assert n_matches > 1000


def test_detect_language_of_prose_and_markdown():
    paragraph = ("The committee met on Tuesday to discuss the budget for next year. After a long debate, "
                 "members agreed to postpone the decision until more figures were available; several of them "
                 "said the proposal (as drafted) was too vague, and asked for a shorter version by Friday.")
    assert detect_language(paragraph) == "text"
    assert normalize(paragraph).lang == "text"
    answer = f"Here is the code:\n\n```\n{GO_ORIG}```\n\nIt expires entries lazily.\n"
    assert detect_language(answer) == "markdown"
    assert normalize(answer).lang == "markdown"


# ---------------------------------------------------------------------------------------------
# Markdown answers: the code in a fence is normalized like the code alone
# ---------------------------------------------------------------------------------------------


def stdlib_function(module: str, name: str) -> str:
    doc = stdlib_doc(module)
    for fn in corpora.python_functions(doc):
        if fn.doc_id.split(":")[-1].split("@")[0] == name:
            return textwrap.dedent(fn.text)
    raise LookupError(name)


def markdown_answer(code: str, tag: str) -> str:
    return ("Sure! Here is a helper that does what you asked; it keeps the original behaviour and handles the\n"
            "corner cases you mentioned (blank lines, tabs and so on).\n\n"
            f"```{tag}\n{code}```\n\n"
            "Call it with your text. Lines that contain only white space are treated specially, as the\n"
            "documentation of the standard library explains.\n")


def assert_fenced_code_like_code_alone(code: str, tag: str) -> None:
    md = markdown_answer(code, tag)
    tokens = normalize(md, "markdown")
    alone = normalize(code, "python")
    offset = md.index(code)
    inside = (tokens.starts >= offset) & (tokens.ends <= offset + len(code))
    np.testing.assert_array_equal(tokens.hashes[inside], alone.hashes)
    np.testing.assert_array_equal(tokens.backrefs[inside], alone.backrefs)
    np.testing.assert_array_equal(tokens.starts[inside] - offset, alone.starts)
    np.testing.assert_array_equal(tokens.ends[inside] - offset, alone.ends)
    assert inside.sum() < len(tokens)  # the prose is there too
    assert np.isin(kgrams(alone), kgrams(tokens)).all()


@pytest.mark.parametrize("tag", ["python", "py", "Python", "python3 title=helper.py", "", "{.python}"])
def test_python_function_in_a_fence_gives_the_functions_kgrams(tag):
    assert_fenced_code_like_code_alone(stdlib_function("textwrap.py", "dedent"), tag)


def test_wrongly_tagged_fence_is_recognized_when_the_code_has_clear_cues():
    # A method (self.x, a one-line def) under ```javascript: the content decides.
    assert_fenced_code_like_code_alone(stdlib_function("textwrap.py", "_fix_sentence_endings"), "javascript")


def test_wrongly_tagged_fence_around_a_plain_function():
    assert_fenced_code_like_code_alone(stdlib_function("textwrap.py", "indent"), "javascript")


# ---------------------------------------------------------------------------------------------
# Bugs found by these tests, fixed in normalize/code.py (and two known limits, still xfail)
# ---------------------------------------------------------------------------------------------


def test_tsx_parser_terminates():
    for lang in ("javascript", "typescript"):  # the same text is harmless elsewhere
        assert normalize_in_child("(x=(ef $!}", lang, limit=HANG_LIMIT_SECONDS) is not None
    assert normalize_in_child("(x=(ef $!}", "tsx", limit=5.0) is not None


DESTRUCTURING = {
    "javascript": (
        "function area({ width, height, scale = 1 }) {\n"
        "  const { low, high } = LIMITS;\n"
        "  return Math.min(high, Math.max(low, width * height * scale));\n"
        "}\n"
        "const LIMITS = { low: 0, high: 100 };\n"
        "console.log(area({ width: 3, height: 4 }));\n",
        "function surface({ w, h, k = 2 }) { const { lo, hi } = BOUNDS;\n"
        "  return Math.min(hi, Math.max(lo, w * h * k)); }\n"
        "const BOUNDS = { lo: 5, hi: 50 };\n"
        "console.log(surface({ w: 7, h: 8 }));\n"),
    "tsx": (TSX_ORIG.replace("export function Counter(props: CounterProps) {\n"
                             "  const [count, setCount] = useState(props.initial);\n"
                             "  const step = props.step ?? 1;\n",
                             "export function Counter({ initial, step = 1, onChange }: CounterProps) {\n"
                             "  const [count, setCount] = useState(initial);\n")
            .replace("props.onChange", "onChange"),
            TSX_COPY.replace("export function Tally(p: TallyProps)\n{\n"
                             "    const [total, setTotal] = useState(p.start);\n"
                             "    const inc = p.inc ?? 5;\n",
                             "export function Tally({start, inc = 5, notify}: TallyProps)\n{\n"
                             "    const [total, setTotal] = useState(start);\n")
            .replace("p.notify", "notify")),
}
DESTRUCTURING["typescript"] = (
    "interface Box { width: number; height: number }\n"
    "export function area({ width, height }: Box): number {\n  return width * height;\n}\n",
    "interface Rect { w: number; h: number }\nexport function surface({ w, h }: Rect): number { return w * h; }\n")


@pytest.mark.parametrize("lang", sorted(DESTRUCTURING))
def test_destructured_names_are_parameterized(lang):
    original, renamed = DESTRUCTURING[lang]
    a, b = normalize(original, lang), normalize(renamed, lang)
    assert set(names_of(original, a)) != set(names_of(renamed, b))
    assert_same_stream(b, a)


GO_LABELS = ("""\
package search

func Find(grid [][]int, target int) (int, int) {
outer:
	for i, row := range grid {
		for j, v := range row {
			if v > target {
				continue outer
			}
			if v == target {
				return i, j
			}
		}
	}
	return -1, -1
}
""", """\
package matrix
func Locate(m [][]int, want int) (int, int) {
scan:
    for r, line := range m {
        for c, cell := range line {
            if cell > want { continue scan }
            if cell == want { return r, c }
        }
    }
    return -2, -3
}
""")

RUST_MACRO = ("""\
macro_rules! square_all {
    ($($x:expr),*) => { vec![$($x * $x),*] };
}

fn main() {
    let squares = square_all!(1, 2, 3);
    println!("{:?}", squares);
}
""", """\
macro_rules! sq_each { ($($v:expr),*) => { vec![$($v * $v),*] }; }
fn main() { let out = sq_each!(4, 5, 6); println!("{:?} done", out); }
""")

C_MACROS = ("""\
#define BUF_SIZE 4096
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static char buffer[BUF_SIZE];

int widest(const int *widths, int n)
{
    int best = 0;
    for (int i = 0; i < n; i++)
        best = MAX(best, widths[i]);
    return best;
}
""", """\
#define CAP 512
#define BIGGER(x, y) ((x)>(y)?(x):(y))
static char store[CAP];
int largest(const int *sizes, int count) {
  int top = 0;
  for (int k = 0; k < count; k++) top = BIGGER(top, sizes[k]);
  return top;
}
""")

JSX_TEXT = ("""\
export const Note = () => (
  <p className="note">
    Saved automatically every few minutes.
  </p>
);
""", """\
export const Hint = () => (
    <p className='hint'>
        Saved automatically every few minutes.
    </p>
);
""")


@pytest.mark.parametrize("lang, pair", [
    pytest.param("go", GO_LABELS, id="go-labels"),
    pytest.param("rust", RUST_MACRO, id="rust-macro-metavariables"),
    pytest.param("c", C_MACROS, id="c-define-bodies"),
    pytest.param("tsx", JSX_TEXT, id="tsx-multiline-jsx-text"),
])
def test_renaming_and_reformatting_inside_special_constructs(lang, pair):
    original, disguised = pair
    assert line_layout(original) != line_layout(disguised)
    assert_same_stream(normalize(disguised, lang), normalize(original, lang))


CUT_INSIDE = [
    ("python", 'def greet(name):\n    """Return a greeting for name.\n\n    The greeting is polite and short.\n',
     '"""'),
    ("javascript", "const banner = `Welcome, ${user.name}!\nYou have new messages and updates", "`"),
    ("c", "int total = 0;\n/* Accumulate the widths of every column\n   before drawing the table", " */"),
    ("go", 'package p\n\nvar greeting = "hello there, my friend', '"'),
    ("java", 'class A { String s = "two words', '"'),
]


@pytest.mark.parametrize("lang, text, closer", CUT_INSIDE, ids=[c[0] for c in CUT_INSIDE])
@pytest.mark.xfail(strict=True, reason=(
    "a file cut inside a string literal or comment: tree-sitter's recovery returns ERROR nodes whose "
    "children (string_start/string_content/'/'/'*'/identifier leaves) are emitted as ordinary tokens, "
    "and only leaves of type ERROR go through the lexical fallback, so the words of the unterminated "
    "docstring, template literal, comment or string become identifier tokens instead of one STR token "
    "(or nothing, for a comment)"))
def test_file_cut_inside_a_literal_or_comment(lang, text, closer):
    assert_same_stream(normalize(text, lang), normalize(text + closer, lang))


WHITE_SPACE_TOKENS = [
    ("c", "char c = 'a b"),  # unterminated character literal
    ("cpp", "char c = 'a b"),
    ("javascript", "let s = '  "),  # unterminated string
    ("typescript", 'let s: string = "  '),
    ("java", 'String s = "  '),
    ("go", 'package p\nvar s = "  '),
    ("python", "total = price\u00a0* count\n"),  # non-ASCII white space
    ("go", "package p\n\nvar total = price\u3000* count\n"),
    ("rust", "fn f() { let total = price\u2003* count; }"),
]


@pytest.mark.parametrize("lang, text", WHITE_SPACE_TOKENS)
def test_white_space_never_becomes_a_token(lang, text):
    assert_no_white_space_tokens(text, normalize(text, lang))


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(lang=st.sampled_from(LANGS), text=ARBITRARY_TEXT | code_soup(CODE_PIECES + ["\u00a0", "\u3000", " "]))
@example(lang="c", text="x = 'a b")
def test_arbitrary_text_gives_no_white_space_tokens(lang, text):
    assert_no_white_space_tokens(text, normalize_guarded(text, lang))


JS_FAMILY = ("javascript", "typescript", "tsx")


@pytest.mark.parametrize("lang", [
    pytest.param(lang)
    for lang in LANGS])
def test_non_breaking_spaces_change_nothing(lang):
    # Code pasted from a web page often has U+00A0 for spaces; JavaScript counts it as white space.
    original = CASES[lang].original
    pasted = original.replace(" = ", "\u00a0=\u00a0")
    assert pasted != original
    assert_same_stream(normalize(pasted, lang), normalize(original, lang))


GRAMMAR_SKIPS_ZERO_WIDTH = ("python", "javascript", "typescript", "tsx")

@pytest.mark.parametrize("lang", [
    pytest.param(lang)
    for lang in LANGS])
def test_zero_width_characters_change_nothing(lang):
    original = CASES[lang].original
    pieces = original.split(" = ")
    invisible = ["\u200b", "\ufeff", "\u2060"]
    hidden = pieces[0] + "".join(f" ={invisible[n % 3]} " + piece for n, piece in enumerate(pieces[1:]))
    assert hidden != original
    assert_same_stream(normalize(hidden, lang), normalize(original, lang))


def test_soft_hyphens_change_nothing():
    for lang in LANGS:
        original = CASES[lang].original
        assert_same_stream(normalize(original.replace(" = ", " =\u00ad "), lang), normalize(original, lang))


def test_missing_nodes_give_no_empty_tokens():
    text = "let x: -;"
    assert_offsets_sane(text, normalize(text, "typescript"))


INVALID_UTF8 = {lang: b"\\\xff" for lang in LANGS}  # a backslash, then a byte that is not UTF-8
INVALID_UTF8.update({"c": b"'\xff", "cpp": b"'\xff"})


@pytest.mark.parametrize("lang", [
    pytest.param(lang)
    for lang in LANGS])
def test_invalid_utf8_gives_no_empty_tokens(lang):
    data = INVALID_UTF8[lang]
    assert_offsets_sane(decode(data), normalize(data, lang))


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(lang=st.sampled_from(LANGS),
       data=st.binary(max_size=200) | code_soup(CODE_PIECES).map(lambda t: t.encode("utf-8", "surrogatepass")))
@example(lang="c", data=b"'\xff")
def test_arbitrary_bytes_give_no_empty_tokens(lang, data):
    assert_offsets_sane(decode(data), normalize_guarded(data, lang))


def docstring_window(source: str, n_lines: int = 50) -> tuple[int, int]:
    """A window that starts inside the first docstring of six lines or more."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant) and isinstance(node.body[0].value.value, str) \
                and node.body[0].end_lineno - node.body[0].lineno >= 6:
            return node.body[0].lineno + 2, node.body[0].lineno + 2 + n_lines
    raise LookupError("no long docstring")


@pytest.mark.parametrize("name", ["bisect.py", "fnmatch.py"])
@pytest.mark.xfail(strict=True, reason=(
    "a window that starts inside a triple-quoted string (a docstring) is lexed inside out: the "
    "docstring's closing quotes open a string that swallows the code after it, so the window keeps "
    "~0% of its k-grams (README: 'a window cut from the middle of a file has the same k-grams it has "
    "inside the file')"))
def test_window_starting_inside_a_docstring_keeps_its_kgrams(name):
    source = stdlib_doc(name).text
    first, last = docstring_window(source)
    part = kgrams(normalize(window(source, first, last), "python"))
    assert part.size >= 60
    assert found_share(part, kgrams(normalize(source, "python"))) >= 0.9


@pytest.mark.parametrize("lang, text, keyword", [
    ("typescript", "let size: number = limit;", "number"),
    ("typescript", "let name: string = label;", "string"),
    ("tsx", "let name: string = label;", "string"),
    ("java", "float ratio = total;", "float"),
])
def test_type_keywords_are_not_literals(lang, text, keyword):
    tokens = normalize(text, lang)
    i = texts_of(text, tokens).index(keyword)
    assert tokens.hashes[i] not in (STR_HASH, NUM_HASH, ID_HASH)
    literal = '"abc"' if keyword == "string" else "5"
    if lang != "java":  # a literal type is another type
        other = text.replace(keyword, literal, 1)
        assert not np.array_equal(normalize(other, lang).hashes, tokens.hashes)


def test_detect_language_parses_when_cues_do_not_decide(pydoc_docs):
    # Kernel-style C and a Go method carry at most one cue; the grammar that parses them decides.
    c_code = ("static int\nfoo_probe(struct device *dev, unsigned long flags)\n{\n\tint err;\n\n"
              "\tif (!dev)\n\t\treturn -ENODEV;\n\terr = bar_init(dev->parent, flags & 0xff);\n"
              "\tif (err < 0)\n\t\tgoto out;\n\tdev->state = READY;\nout:\n\treturn err;\n}\n")
    assert detect_language(c_code) in ("c", "cpp")
    go_code = ("func (c *Cache) Get(key string) (value []byte, ok bool) {\n\tc.mu.Lock()\n"
               "\tdefer c.mu.Unlock()\n\tentry, found := c.items[key]\n\tif !found || entry.expired() {\n"
               "\t\treturn nil, false\n\t}\n\treturn entry.value, true\n}\n")
    assert detect_language(go_code) == "go"
    # Help topics mix prose with grammar rules and Python examples: prose, as they are indexed.
    topics = [d for d in pydoc_docs if "::=" in d.text[:4000]][:10]
    assert len(topics) == 10
    assert sum(detect_language(d.text[:4000]) == "text" for d in topics) >= 9


def test_code_carries_prose_in_comments_and_docstrings():
    """``code_and_prose``: the code tokens are normalize_code's; the prose is the words of
    comments and of string statements (Python docstrings), read as prose, with offsets
    into the text; other strings are not prose."""
    from dedupfilter.normalize import normalize_text
    from dedupfilter.normalize.code import code_and_prose, normalize_code

    text = ('def f(a):\n    r"""Return\u200b the name of the file."""\n    # checked twice here\n'
            '    x = "not prose"\n    return a  # trailing remark\n')
    code, prose = code_and_prose(text, "python")
    assert np.array_equal(code.hashes, normalize_code(text, "python").hashes)
    words = [text[s:e] for s, e in zip(prose.starts, prose.ends)]
    assert words == ["Return", "the", "name", "of", "the", "file", "checked", "twice", "here", "trailing", "remark"]
    assert prose.lang == "text" and np.array_equal(prose.hashes, normalize_text(" ".join(words)).hashes)
    java = "/** Parses the header line. */\nclass A { // the only field\n  String s = \"not prose\"; }\n"
    _, prose = code_and_prose(java, "java")
    assert [java[s:e] for s, e in zip(prose.starts, prose.ends)] == ["Parses", "the", "header", "line", "the",
                                                                    "only", "field"]
    _, prose = code_and_prose("x = 1\n", "python")
    assert len(prose) == 0


@given(st.lists(st.one_of(st.sampled_from([0x00AD, 0x200B, 0x2060, 0xFEFF, 0x00A0, 0x2003, 0x3000, 0x202F, 0xFFFF,
                                           0x10000, 0x1F389, 0x0301, 0x61, 0x20]),
                          st.integers(0, 0x10FFFF).filter(lambda c: not 0xD800 <= c < 0xE000)), max_size=40))
def test_invisible_and_space_characters_are_found_as_the_sets_say(cps):
    """``_visible`` (a table over the Basic Multilingual Plane) against the obvious
    definition: np.isin over the sets, for any code point."""
    from dedupfilter.normalize import code

    text = "".join(map(chr, cps)) + "é"  # never ASCII: the table is what decides
    points = np.array([ord(c) for c in text], np.uint32)
    kept = np.flatnonzero(~np.isin(points, code._INVISIBLE))
    spaces = np.isin(points, code._UNICODE_SPACES)
    expected = "".join(" " if spaces[i] else text[i] for i in kept.tolist())
    visible, found = code._visible(text)
    assert visible == expected
    changed = kept.size < len(text) or bool(spaces.any())
    assert (found is not None) == changed and (found is None or found.tolist() == kept.tolist())
    data = visible.encode("utf-8", "surrogatepass")
    byte_starts = code._char_byte_starts(visible, len(data))
    offsets = np.array([len(visible[:i].encode("utf-8", "surrogatepass")) for i in range(len(visible) + 1)])
    assert code._char_offsets(byte_starts, offsets).tolist() == list(range(len(visible) + 1))
