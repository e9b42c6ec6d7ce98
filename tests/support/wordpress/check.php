<?php

/*
 * Our own WordPress security lint over PHP's tokenizer (the WordPress Coding Standards come only
 * from Composer). Usage: php check.php FILE...  Prints "file:line: problem" lines, exits 1 on any.
 *
 *  - output: every echo / print / <?= argument is one call to an escaping function (esc_*, wp_kses*);
 *    _e, _ex, printf and friends print unescaped and are refused;
 *  - input: every $_POST / $_GET / $_REQUEST read is sanitize_*(wp_unslash($_X[...])) or sits
 *    inside isset() / empty();
 *  - handlers: a function that reads $_POST, or one hooked on admin_post_* / wp_ajax_*, calls
 *    both check_admin_referer (check_ajax_referer for Ajax) and current_user_can;
 *  - translations: with --domain=NAME, every __(), esc_html__() ... names that text domain last.
 */

const ESCAPES = '/^(esc_(html|attr|url|textarea|js|xml)(__|_x)?|wp_kses(_post|_data)?|absint|intval)$/i';
const RAW_PRINTERS = ['_e', '_ex', 'printf', 'vprintf', 'print_r', 'var_dump', 'var_export'];
const SUPERGLOBALS = ['$_POST', '$_GET', '$_REQUEST'];
const I18N = '/^(__|_e|_x|_ex|_n|_nx|esc_(html|attr)(__|_e|_x))$/i';

/** @return list<array{0:int|string,1:string,2:int}> the tokens without whitespace and comments */
function significant(string $code): array
{
    $out = [];
    $line = 1;
    foreach (token_get_all($code) as $t) {
        if (is_array($t)) {
            $line = $t[2];
            if (in_array($t[0], [T_WHITESPACE, T_COMMENT, T_DOC_COMMENT], true)) {
                continue;
            }
            $out[] = $t;
        } else {
            $out[] = [$t, $t, $line];
        }
    }
    return $out;
}

function text(array $t): string
{
    return $t[1];
}

/** Index of the token closing the bracket opened at $i. */
function closing(array $toks, int $i): int
{
    $open = text($toks[$i]);
    $close = ['(' => ')', '[' => ']', '{' => '}'][$open];
    $depth = 0;
    for ($j = $i; $j < count($toks); $j++) {
        $s = text($toks[$j]);
        if ($s === $open || ($open === '{' && in_array($toks[$j][0], [T_CURLY_OPEN, T_DOLLAR_OPEN_CURLY_BRACES], true))) {
            $depth++;
        } elseif ($s === $close) {
            $depth--;
            if ($depth === 0) {
                return $j;
            }
        }
    }
    return count($toks) - 1;
}

/** Whether tokens [$a, $b] are exactly one call NAME(...) with NAME matching ESCAPES. */
function isEscapedCall(array $toks, int $a, int $b): bool
{
    if ($a > $b || $toks[$a][0] !== T_STRING || !preg_match(ESCAPES, text($toks[$a]))) {
        return false;
    }
    return $a + 1 <= $b && text($toks[$a + 1]) === '(' && closing($toks, $a + 1) === $b;
}

function checkOutput(array $toks, string $file, array &$problems): void
{
    $n = count($toks);
    for ($i = 0; $i < $n; $i++) {
        $id = $toks[$i][0];
        if ($id === T_STRING && in_array(strtolower(text($toks[$i])), RAW_PRINTERS, true)
            && isset($toks[$i + 1]) && text($toks[$i + 1]) === '('
            && !in_array($toks[$i - 1][0] ?? null, [T_FUNCTION, T_OBJECT_OPERATOR, T_DOUBLE_COLON], true)) {
            $problems[] = "$file:{$toks[$i][2]}: " . text($toks[$i]) . '() prints without escaping';
            continue;
        }
        if (!in_array($id, [T_ECHO, T_PRINT, T_OPEN_TAG_WITH_ECHO], true)) {
            continue;
        }
        // The statement's arguments, split at top-level commas, up to ; or the closing tag.
        $start = $i + 1;
        $depth = 0;
        for ($j = $start; $j < $n; $j++) {
            $s = text($toks[$j]);
            if (in_array($s, ['(', '[', '{'], true)) {
                $depth++;
            } elseif (in_array($s, [')', ']', '}'], true)) {
                $depth--;
            }
            $end = $depth <= 0 && ($s === ';' || $toks[$j][0] === T_CLOSE_TAG || $s === ',' || $j === $n - 1);
            if ($end) {
                if (!isEscapedCall($toks, $start, $j - 1)) {
                    $problems[] = "$file:{$toks[$i][2]}: output not wrapped in esc_* or wp_kses*";
                }
                if ($s !== ',') {
                    break;
                }
                $start = $j + 1;
            }
        }
        $i = $j;
    }
}

/** Whether the superglobal at $i is read inside isset( ) or empty( ). */
function insideIsset(array $toks, int $i): bool
{
    $depth = 0;
    for ($j = $i - 1; $j >= 0; $j--) {
        $s = text($toks[$j]);
        if ($s === ')') {
            $depth++;
        } elseif ($s === '(') {
            if ($depth === 0) {
                return in_array($toks[$j - 1][0] ?? null, [T_ISSET, T_EMPTY], true);
            }
            $depth--;
        } elseif ($s === ';' || $s === '{' || $s === '}') {
            return false;
        }
    }
    return false;
}

function checkInput(array $toks, string $file, array &$problems): void
{
    foreach ($toks as $i => $t) {
        if ($t[0] !== T_VARIABLE || !in_array($t[1], SUPERGLOBALS, true) || insideIsset($toks, $i)) {
            continue;
        }
        $ok = $i >= 4
            && text($toks[$i - 1]) === '(' && strtolower(text($toks[$i - 2])) === 'wp_unslash'
            && text($toks[$i - 3]) === '(' && $toks[$i - 4][0] === T_STRING
            && preg_match('/^sanitize_\w+$/i', text($toks[$i - 4]));
        if ($ok) {
            $j = $i + 1;
            while (isset($toks[$j]) && text($toks[$j]) === '[') {
                $j = closing($toks, $j) + 1;
            }
            $ok = isset($toks[$j + 1]) && text($toks[$j]) === ')' && text($toks[$j + 1]) === ')';
        }
        if (!$ok) {
            $problems[] = "$file:{$t[2]}: {$t[1]} read without sanitize_*(wp_unslash(...))";
        }
    }
}

/** Names hooked on admin_post_* / wp_ajax_*: add_action('admin_post_x', 'fn' | [X, 'method']). */
function hookedHandlers(array $toks): array
{
    $names = [];
    foreach ($toks as $i => $t) {
        if ($t[0] !== T_STRING || strtolower($t[1]) !== 'add_action' || text($toks[$i + 1] ?? ['']) !== '(') {
            continue;
        }
        $hook = $toks[$i + 2] ?? null;
        if (!$hook || $hook[0] !== T_CONSTANT_ENCAPSED_STRING || !preg_match('/^.(admin_post_|wp_ajax_)/', $hook[1])) {
            continue;
        }
        $end = closing($toks, $i + 1);
        for ($j = $i + 3; $j < $end; $j++) {
            if ($toks[$j][0] === T_CONSTANT_ENCAPSED_STRING) {
                $names[] = strtolower(trim($toks[$j][1], '\'"'));
            }
        }
    }
    return $names;
}

function checkHandlers(array $toks, string $file, array $hooked, array &$problems): void
{
    foreach ($toks as $i => $t) {
        if ($t[0] !== T_FUNCTION || ($toks[$i + 1][0] ?? null) !== T_STRING) {
            continue;
        }
        $name = strtolower($toks[$i + 1][1]);
        $body = $i + 2;
        while (isset($toks[$body]) && text($toks[$body]) !== '{' && text($toks[$body]) !== ';') {
            $body++;
        }
        if (!isset($toks[$body]) || text($toks[$body]) !== '{') {
            continue;
        }
        $end = closing($toks, $body);
        $calls = [];
        $readsPost = false;
        for ($j = $body; $j < $end; $j++) {
            if ($toks[$j][0] === T_STRING) {
                $calls[strtolower($toks[$j][1])] = true;
            }
            if ($toks[$j][0] === T_VARIABLE && in_array($toks[$j][1], ['$_POST', '$_REQUEST'], true)) {
                $readsPost = true;
            }
        }
        if (!$readsPost && !in_array($name, $hooked, true)) {
            continue;
        }
        $nonce = isset($calls['check_admin_referer']) || isset($calls['check_ajax_referer']);
        if (!$nonce || !isset($calls['current_user_can'])) {
            $problems[] = "$file:{$t[2]}: handler {$toks[$i + 1][1]}() needs check_admin_referer and current_user_can";
        }
    }
}

function checkDomain(array $toks, string $file, string $domain, array &$problems): void
{
    foreach ($toks as $i => $t) {
        if ($t[0] !== T_STRING || !preg_match(I18N, $t[1]) || text($toks[$i + 1] ?? ['', '']) !== '(') {
            continue;
        }
        if (in_array($toks[$i - 1][0] ?? null, [T_FUNCTION, T_OBJECT_OPERATOR, T_DOUBLE_COLON], true)) {
            continue;
        }
        $close = closing($toks, $i + 1);
        $last = $toks[$close - 1];
        $ok = $last[0] === T_CONSTANT_ENCAPSED_STRING && trim($last[1], '\'"') === $domain
            && text($toks[$close - 2]) === ',';
        if (!$ok) {
            $problems[] = "$file:{$t[2]}: {$t[1]}() without the text domain '$domain'";
        }
    }
}

$domain = '';
$files = [];
foreach (array_slice($argv, 1) as $arg) {
    if (strpos($arg, '--domain=') === 0) {
        $domain = substr($arg, 9);
    } else {
        $files[] = $arg;
    }
}
$all = [];
foreach ($files as $file) {
    $all[$file] = significant((string) file_get_contents($file));
}
$hooked = [];
foreach ($all as $toks) {
    $hooked = array_merge($hooked, hookedHandlers($toks));
}
$problems = [];
foreach ($all as $file => $toks) {
    checkOutput($toks, $file, $problems);
    checkInput($toks, $file, $problems);
    checkHandlers($toks, $file, $hooked, $problems);
    if ($domain !== '') {
        checkDomain($toks, $file, $domain, $problems);
    }
}
foreach ($problems as $p) {
    echo $p, "\n";
}
exit($problems ? 1 : 0);
