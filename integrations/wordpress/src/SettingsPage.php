<?php

namespace CallTracking\WordPress;

/**
 * Settings -> Call tracking: the owner pastes the script tag (or the site key and the product's
 * URL), sees whether the product answers, chooses consent and who is tracked, and opens a page of
 * the site with the test source. Saved through admin-post.php: capability, then nonce, then the
 * option's sanitize callback; a refused form comes back with the message next to its field and
 * what was typed kept.
 */
final class SettingsPage
{
    public const SLUG = 'calltracking';
    public const ACTION = 'calltracking_save';
    public const CAPABILITY = 'manage_options';
    private const FORM_SECONDS = 300;

    public static function addMenu(): void
    {
        add_options_page(
            __('Call tracking', 'calltracking'),
            __('Call tracking', 'calltracking'),
            self::CAPABILITY,
            self::SLUG,
            [self::class, 'render']
        );
    }

    private static function formKey(): string
    {
        return 'calltracking_form_' . get_current_user_id();
    }

    /** The admin-post.php handler of the form. */
    public static function save(): void
    {
        if (!current_user_can(self::CAPABILITY)) {
            wp_die(esc_html__('You are not allowed to change the call tracking settings.', 'calltracking'), '', 403);
        }
        check_admin_referer(self::ACTION);
        $input = [
            'tag' => isset($_POST['tag']) ? sanitize_script_tag(wp_unslash($_POST['tag'])) : '',
            'api_url' => isset($_POST['api_url']) ? sanitize_text_field(wp_unslash($_POST['api_url'])) : '',
            'enabled' => isset($_POST['enabled']) ? sanitize_key(wp_unslash($_POST['enabled'])) : '',
            'track_editors' => isset($_POST['track_editors']) ? sanitize_key(wp_unslash($_POST['track_editors'])) : '',
            'consent_mode' => isset($_POST['consent_mode']) ? sanitize_key(wp_unslash($_POST['consent_mode'])) : '',
            'consent_category' => isset($_POST['consent_category'])
                ? sanitize_key(wp_unslash($_POST['consent_category'])) : '',
        ];
        $errors = Options::errors($input);
        $status = 'saved';
        if ($errors) {
            set_transient(self::formKey(), ['input' => $input, 'errors' => $errors], self::FORM_SECONDS);
            $status = 'error';
        } else {
            delete_transient(self::formKey());
            update_option(Options::NAME, $input);
        }
        $back = add_query_arg(['page' => self::SLUG, 'calltracking' => $status], admin_url('options-general.php'));
        wp_safe_redirect($back);
        exit;
    }

    /**
     * What the owner's deployment says about the saved site key (GET <url>/v1/sites/<key>, public):
     * whether it answers, the number the pool replaces, and whether this site may use the pool.
     *
     * @return array{ok: bool, message: string, number: string, origin_ok: bool}
     */
    public static function productStatus(array $settings): array
    {
        $off = ['ok' => false, 'number' => '', 'origin_ok' => false];
        if ($settings['api_url'] === '' || $settings['site_key'] === '') {
            return $off + ['message' => __('Not set up yet.', 'calltracking')];
        }
        $url = $settings['api_url'] . '/v1/sites/' . rawurlencode($settings['site_key']);
        $answer = wp_remote_get($url, ['timeout' => 5, 'redirection' => 0]);
        if (is_wp_error($answer)) {
            /* translators: %s: the error WordPress met */
            $message = sprintf(__('The product does not answer: %s', 'calltracking'), $answer->get_error_message());
            return $off + ['message' => $message];
        }
        $code = (int) wp_remote_retrieve_response_code($answer);
        if ($code === 404) {
            $message = __('The product answers, but knows no pool with this site key.', 'calltracking');
            return $off + ['message' => $message];
        }
        $body = json_decode((string) wp_remote_retrieve_body($answer), true);
        if ($code !== 200 || !is_array($body) || !isset($body['original_number'])) {
            /* translators: %d: an HTTP status code */
            return $off + ['message' => sprintf(__('The product answered %d.', 'calltracking'), $code)];
        }
        $home = wp_parse_url(home_url('/'));
        $origin = ($home['scheme'] ?? 'https') . '://' . ($home['host'] ?? '');
        $origin .= isset($home['port']) ? ':' . $home['port'] : '';
        return [
            'ok' => true,
            'message' => __('The product answers and knows this site key.', 'calltracking'),
            'number' => (string) $body['original_number'],
            'origin_ok' => in_array(strtolower($origin), (array) ($body['allowed_origins'] ?? []), true),
        ];
    }

    public static function testLink(): string
    {
        return add_query_arg(
            ['utm_source' => Options::TEST_SOURCE, 'utm_medium' => 'test', 'utm_campaign' => 'install-check'],
            home_url('/')
        );
    }

    public static function render(): void
    {
        if (!current_user_can(self::CAPABILITY)) {
            wp_die(esc_html__('You are not allowed to change the call tracking settings.', 'calltracking'), '', 403);
        }
        $settings = Options::get();
        $form = get_transient(self::formKey());
        $errors = is_array($form) ? $form['errors'] : [];
        $typed = is_array($form) ? $form['input'] : [];
        if (is_array($form)) {
            delete_transient(self::formKey());
        }
        $tag = $typed['tag'] ?? $settings['site_key'];
        $apiUrl = $typed['api_url'] ?? $settings['api_url'];
        $enabled = $typed ? !empty($typed['enabled']) : $settings['enabled'];
        $editors = $typed ? !empty($typed['track_editors']) : $settings['track_editors'];
        $mode = $typed['consent_mode'] ?? $settings['consent_mode'];
        $category = $typed['consent_category'] ?? $settings['consent_category'];
        $status = self::productStatus($settings);
        $notice = isset($_GET['calltracking']) ? sanitize_key(wp_unslash($_GET['calltracking'])) : '';
        ?>
<div class="wrap">
<h1><?php echo esc_html__('Call tracking', 'calltracking'); ?></h1>
        <?php if ($notice === 'saved' && !$errors) : ?>
<div class="notice notice-success"><p><?php echo esc_html__('Settings saved.', 'calltracking'); ?></p></div>
        <?php elseif ($errors) : ?>
<div class="notice notice-error" role="alert"><p><?php
    echo esc_html__('Nothing was saved: see the messages below.', 'calltracking');
?></p></div>
        <?php endif; ?>
<h2><?php echo esc_html__('Status', 'calltracking'); ?></h2>
<p id="calltracking-status" class="<?php echo esc_attr($status['ok'] ? 'ct-ok' : 'ct-off'); ?>"><?php
    echo esc_html($status['message']);
?></p>
        <?php if ($status['ok']) : ?>
<p id="calltracking-number"><?php
    /* translators: %s: a phone number */
    $replaces = __('Wherever your pages show %s, visitors see a number of the pool.', 'calltracking');
    echo esc_html(sprintf($replaces, $status['number']));
?></p>
            <?php if (!$status['origin_ok']) : ?>
<p id="calltracking-origin" class="notice notice-warning inline"><?php
    echo esc_html__('This site is not among the pool\'s sites: add it on the dashboard\'s pool page.', 'calltracking');
?></p>
            <?php endif; ?>
<p><a id="calltracking-test-link" href="<?php echo esc_url(self::testLink()); ?>" target="_blank" rel="noopener"><?php
    echo esc_html__('Test this page', 'calltracking');
?></a> &mdash; <?php
    echo esc_html__('opens your home page with the test source: the pool\'s number shows there.', 'calltracking');
?></p>
        <?php endif; ?>
<form method="post" action="<?php echo esc_url(admin_url('admin-post.php')); ?>" novalidate>
<input type="hidden" name="action" value="<?php echo esc_attr(self::ACTION); ?>">
        <?php wp_nonce_field(self::ACTION); ?>
<table class="form-table" role="presentation">
<tr>
<th scope="row"><label for="calltracking-tag"><?php
    echo esc_html__('Script tag or site key', 'calltracking');
?></label></th>
<td>
<textarea id="calltracking-tag" name="tag" rows="3" class="large-text code" aria-invalid="<?php
    echo esc_attr(isset($errors['tag']) ? 'true' : 'false');
?>" aria-describedby="calltracking-tag-help<?php
    echo esc_attr(isset($errors['tag']) ? ' calltracking-tag-error' : '');
?>"><?php echo esc_textarea($tag); ?></textarea>
        <?php if (isset($errors['tag'])) : ?>
<div id="calltracking-tag-error" class="notice notice-error inline"><p><?php echo esc_html($errors['tag']); ?></p></div>
        <?php endif; ?>
<p id="calltracking-tag-help" class="description"><?php
    echo esc_html__('The whole <script> tag from the dashboard\'s website page, or its site key.', 'calltracking');
?></p>
</td>
</tr>
<tr>
<th scope="row"><label for="calltracking-api-url"><?php echo esc_html__('Product URL', 'calltracking'); ?></label></th>
<td>
<input id="calltracking-api-url" name="api_url" type="url" class="regular-text code" aria-invalid="<?php
    echo esc_attr(isset($errors['api_url']) ? 'true' : 'false');
?>" value="<?php
    echo esc_attr($apiUrl);
?>" aria-describedby="calltracking-api-url-help<?php
    echo esc_attr(isset($errors['api_url']) ? ' calltracking-api-url-error' : '');
?>">
        <?php if (isset($errors['api_url'])) : ?>
<div id="calltracking-api-url-error" class="notice notice-error inline"><p><?php
    echo esc_html($errors['api_url']);
?></p></div>
        <?php endif; ?>
<p id="calltracking-api-url-help" class="description"><?php
    echo esc_html__('Read from the tag when you paste one. The script loads from there only.', 'calltracking');
?></p>
</td>
</tr>
<tr>
<th scope="row"><?php echo esc_html__('Tracking', 'calltracking'); ?></th>
<td>
<p><label><input type="checkbox" name="enabled" value="1"<?php checked($enabled); ?>> <?php
    echo esc_html__('Add the script to the site\'s pages', 'calltracking');
?></label></p>
<p><label><input type="checkbox" name="track_editors" value="1"<?php checked($editors); ?>> <?php
    echo esc_html__('Also for logged-in editors and administrators', 'calltracking');
?></label></p>
</td>
</tr>
<tr>
<th scope="row"><?php echo esc_html__('Consent', 'calltracking'); ?></th>
<td>
<fieldset>
<legend class="screen-reader-text"><?php echo esc_html__('Consent', 'calltracking'); ?></legend>
        <?php if (Options::consentApiActive()) : ?>
<p><?php
    echo esc_html__('The WP Consent API is on: visitors are tracked once they allow this category.', 'calltracking');
?></p>
<p><label for="calltracking-category"><?php echo esc_html__('Consent category', 'calltracking'); ?></label>
<select id="calltracking-category" name="consent_category">
            <?php foreach (Options::CATEGORIES as $option) : ?>
<option value="<?php echo esc_attr($option); ?>"<?php selected($category, $option); ?>><?php
    echo esc_html($option);
?></option>
            <?php endforeach; ?>
</select></p>
<input type="hidden" name="consent_mode" value="<?php echo esc_attr($mode); ?>">
        <?php else : ?>
<p><?php
    echo esc_html__('Without the WP Consent API, visitors are tracked:', 'calltracking');
?></p>
<p><label><input type="radio" name="consent_mode" value="always"<?php checked($mode, 'always'); ?>> <?php
    echo esc_html__('always', 'calltracking');
?></label></p>
<p><label><input type="radio" name="consent_mode" value="event"<?php checked($mode, 'event'); ?>> <?php
    echo esc_html__('only after the site\'s own consent event (ct:consent or window.ctConsent)', 'calltracking');
?></label></p>
<input type="hidden" name="consent_category" value="<?php echo esc_attr($category); ?>">
        <?php endif; ?>
</fieldset>
</td>
</tr>
</table>
        <?php submit_button(__('Save', 'calltracking')); ?>
</form>
</div>
        <?php
    }
}
