<?php

/*
 * The plugin's front end against stubbed WordPress functions:
 *   php stub_enqueue.php VERSION [consent] [editor] [SETTINGS_JSON] [QUERY]
 * prints, as JSON, what it passed to wp_enqueue_script and the tags script_loader_tag made, so the
 * 6.3+ `strategy` branch is checked without a WordPress 6.3 (Debian's is 6.1).
 */

define('ABSPATH', __DIR__ . '/');
$GLOBALS['stub'] = ['version' => $argv[1], 'enqueued' => [], 'logged_in' => ($argv[3] ?? '') === 'editor'];
$stubOptions = [
    'enabled' => true, 'site_key' => 'sk_stubstubstub', 'api_url' => 'https://calls.example.com',
    'track_editors' => false, 'consent_mode' => 'always', 'consent_category' => 'marketing',
];
$stubOptions = array_merge($stubOptions, json_decode($argv[4] ?? '{}', true) ?: []);
parse_str($argv[5] ?? '', $_GET);
if (($argv[2] ?? '') === 'consent') {
    function wp_has_consent($category)
    {
        return false;
    }
}
function get_bloginfo($what)
{
    return $GLOBALS['stub']['version'];
}
function get_option($name, $default = false)
{
    global $stubOptions;
    return $name === 'calltracking_settings' ? $stubOptions : $default;
}
function is_admin()
{
    return false;
}
function is_user_logged_in()
{
    return $GLOBALS['stub']['logged_in'];
}
function current_user_can($cap)
{
    return $GLOBALS['stub']['logged_in'];
}
function plugins_url($path, $file)
{
    return 'https://shop.example.com/wp-content/plugins/calltracking/' . $path;
}
function wp_enqueue_script($handle, $src, $deps, $ver, $args)
{
    $GLOBALS['stub']['enqueued'][] = ['handle' => $handle, 'src' => $src, 'version' => $ver, 'args' => $args];
}
function sanitize_key($key)
{
    return preg_replace('/[^a-z0-9_\-]/', '', strtolower($key));
}
function sanitize_text_field($text)
{
    return trim(strip_tags($text));
}
function wp_unslash($value)
{
    return stripslashes($value);
}
function esc_attr($text)
{
    return htmlspecialchars($text, ENT_QUOTES);
}

require dirname(__DIR__, 3) . '/integrations/wordpress/src/Options.php';
require dirname(__DIR__, 3) . '/integrations/wordpress/src/Frontend.php';

\CallTracking\WordPress\Frontend::enqueue();
$tags = [];
foreach ($GLOBALS['stub']['enqueued'] as $script) {
    // What WordPress prints for the handle, before the filter (6.3 adds async itself).
    $plain = '<script src="' . $script['src'] . '" id="' . $script['handle'] . '-js"></script>';
    if (is_array($script['args']) && ($script['args']['strategy'] ?? '') === 'async') {
        $plain = str_replace('<script ', '<script async data-wp-strategy="async" ', $plain);
    }
    $tags[$script['handle']] = \CallTracking\WordPress\Frontend::scriptTag($plain, $script['handle']);
}
echo json_encode(['enqueued' => $GLOBALS['stub']['enqueued'], 'tags' => $tags]);
